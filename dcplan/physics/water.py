r"""Water physics of heat rejection: evaporation, blowdown, make-up and source water.

Pure, vectorised functions (scalar, ndarray or xarray.DataArray in and out). Volumes are
litres of liquid water at 1 kg/L, the convention of the WUE metric.

References
----------
.. [1] Wagner, W. and Pruss, A., "The IAPWS formulation 1995 for the thermodynamic
   properties of ordinary water substance", *J. Phys. Chem. Ref. Data* 31(2), 387-535,
   2002 (saturated-water enthalpies of vaporisation, as tabulated in standard steam tables,
   e.g. Cengel and Boles, *Thermodynamics*, Table A-4).
.. [2] Standard cooling-tower mass balance: make-up = evaporation + blowdown + drift, with
   blowdown = evaporation / (N - 1) for N cycles of concentration; see e.g. ASHRAE
   Handbook HVAC Systems and Equipment, ch. "Cooling Towers", and EPA WaterSense, *Best
   Management Practices: Cooling Tower Management*.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "latent_heat_vaporization",
    "evaporation_l_per_kwh",
    "blowdown",
    "makeup_water",
    "cycles_from_water_quality",
    "source_water_l",
]

#: cubic fit of IAPWS-95 saturated h_fg [kJ/kg] over 0-100 degC, highest power first;
#: max deviation 0.05 kJ/kg from the tabulated values at 0, 5, ..., 50, 60, ..., 100 degC
_HFG_POLY = (-1.24266726e-05, 5.46430248e-04, -2.37572391e00, 2.50093371e03)
_KJ_PER_KWH = 3600.0


def _check(name, value, low, high=np.inf):
    arr = np.asarray(value.data if isinstance(value, xr.DataArray) else value, dtype=float)
    bad = ~((arr >= low) & (arr <= high))
    if bad.any():
        raise ValueError(
            f"{name} must lie in [{low}, {high}], got {arr[bad].ravel()[0]!r} "
            f"({int(bad.sum())} bad value(s))"
        )


def _out(value):
    return float(value) if np.ndim(value) == 0 and not isinstance(value, xr.DataArray) else value


def latent_heat_vaporization(temp_c):
    r"""Enthalpy of vaporisation of water at saturation.

    A cubic in temperature fitted to IAPWS-95 steam-table values (0-100 degC, error
    < 0.05 kJ/kg): 2,500.9 kJ/kg at 0 degC, 2,453.5 at 20 degC, 2,429.8 at 30 degC,
    2,256.4 at 100 degC.

    Parameters
    ----------
    temp_c : numeric
        Temperature of the evaporating water, -20 to 100 (below 0: supercooled
        extrapolation). [degC]

    Returns
    -------
    h_fg : numeric
        [kJ/kg]

    References
    ----------
    .. [1] Wagner and Pruss, IAPWS-95, J. Phys. Chem. Ref. Data 31, 2002.
    """
    _check("temp_c", temp_c, -20.0, 100.0)
    a, b, c, d = _HFG_POLY
    return _out(((a * temp_c + b) * temp_c + c) * temp_c + d)


def evaporation_l_per_kwh(temp_c, latent_fraction=1.0):
    r"""Water evaporated per kWh of heat rejected by evaporation.

    .. math:: E = f_{lat}\, 3600 / h_{fg}(T)

    At 30 degC and :math:`f_{lat} = 1` this is 3,600 / 2,429.8 = 1.48 L/kWh; a wet tower
    also rejects some heat sensibly, which ``latent_fraction`` < 1 accounts for.

    Parameters
    ----------
    temp_c : numeric
        Temperature of the evaporating water. [degC]
    latent_fraction : numeric, default 1
        Share of the heat rejected latently, 0-1. [1]

    Returns
    -------
    evaporation_l_per_kwh : numeric
        [L/kWh] of heat rejected.

    References
    ----------
    .. [1] Wagner and Pruss, IAPWS-95, 2002 (h_fg).
    """
    _check("latent_fraction", latent_fraction, 0.0, 1.0)
    return _out(latent_fraction * _KJ_PER_KWH / latent_heat_vaporization(temp_c))


def blowdown(evaporation, cycles_of_concentration):
    r"""Blowdown needed to hold dissolved solids at N cycles of concentration.

    .. math:: B = E / (N - 1)

    Parameters
    ----------
    evaporation : numeric
        Evaporation, any volume or volume rate unit (the result has the same). [L]
    cycles_of_concentration : numeric
        Ratio of dissolved solids in the recirculating water to the make-up, > 1. [1]

    Returns
    -------
    blowdown : numeric
        Same unit as ``evaporation``.

    References
    ----------
    .. [1] Cooling-tower mass balance, ASHRAE Handbook HVAC Systems and Equipment,
       "Cooling Towers"; EPA WaterSense cooling-tower BMP.
    """
    _check("cycles_of_concentration", cycles_of_concentration, 1.0 + 1e-9)
    _check("evaporation", evaporation, 0.0)
    return _out(evaporation / (cycles_of_concentration - 1.0))


#: recirculating-water silica limit [mg/L SiO2] above which silica scale forms; 150 mg/L is
#: the common limit (EPA WaterSense cooling-tower BMP; ASHRAE Handbook HVAC Applications,
#: "Water Treatment"): the binding constituent for most US make-up waters
SILICA_LIMIT_MG_L = 150.0
#: US median groundwater/surface-water silica ~ 20-30 mg/L (USGS, "Silica in natural
#: waters"); 30 mg/L gives 5 cycles, the usual planning figure (3-6 in practice)
DEFAULT_MAKEUP_SILICA_MG_L = 30.0


def cycles_from_water_quality(makeup_silica_mg_l=DEFAULT_MAKEUP_SILICA_MG_L,
                              silica_limit_mg_l=SILICA_LIMIT_MG_L, max_cycles=10.0):
    r"""Cycles of concentration a tower can run at, from the make-up water's silica.

    Dissolved solids concentrate N times in the recirculating water, so the tower runs at
    :math:`N = C_{limit} / C_{makeup}`, capped at ``max_cycles`` (other constituents and
    treatment practice rarely allow more) and at least 1.5.

    Parameters
    ----------
    makeup_silica_mg_l : numeric
        Silica in the make-up water, > 0. [mg/L]
    silica_limit_mg_l : numeric
        Highest silica the recirculating water may hold. [mg/L]
    max_cycles : float
        Cap. [1]

    Returns
    -------
    cycles : numeric
        [1]

    References
    ----------
    .. [1] EPA WaterSense, *Best Management Practices: Cooling Tower Management*
       (cycles set by the limiting constituent; silica ~150 mg/L).
    """
    _check("makeup_silica_mg_l", makeup_silica_mg_l, 1e-6)
    return _out(np.clip(silica_limit_mg_l / makeup_silica_mg_l, 1.5, max_cycles))


def makeup_water(evaporation, cycles_of_concentration, drift=0.0):
    r"""Make-up water of an evaporative system.

    .. math:: M = E\,\frac{N}{N-1} + D

    e.g. x1.50, 1.33, 1.25, 1.20 of evaporation for N = 3, 4, 5, 6. Drift is added on top
    of the blowdown (a slightly conservative reading of the mass balance; with modern
    drift eliminators it is < 0.01 % of the water circulated and negligible).

    Parameters
    ----------
    evaporation : numeric
        Evaporation. [L] (or any volume; the result has the same unit)
    cycles_of_concentration : numeric
        > 1. [1]
    drift : numeric, default 0
        Droplets carried out of the tower, same unit as ``evaporation``.

    Returns
    -------
    makeup : numeric
        Same unit as ``evaporation``.

    References
    ----------
    .. [1] Cooling-tower mass balance, ASHRAE Handbook HVAC Systems and Equipment,
       "Cooling Towers"; EPA WaterSense cooling-tower BMP.
    """
    _check("drift", drift, 0.0)
    return _out(evaporation + blowdown(evaporation, cycles_of_concentration) + drift)


def source_water_l(facility_energy_kwh, water_l_per_kwh_source):
    """Off-site water consumed to generate the facility's electricity.

    The "source" term of WUE_source (The Green Grid, 2011): facility energy times the
    water intensity of the grid that supplies it.

    Parameters
    ----------
    facility_energy_kwh : numeric
        Total facility energy (IT x PUE). [kWh]
    water_l_per_kwh_source : numeric
        Water consumed per kWh generated by the supplying grid, >= 0. [L/kWh]

    Returns
    -------
    source_water_l : numeric
        [L]

    References
    ----------
    .. [1] Patterson, M. et al., "Water Usage Effectiveness (WUE): a Green Grid data center
       sustainability metric", The Green Grid White Paper 35, 2011.
    """
    _check("facility_energy_kwh", facility_energy_kwh, 0.0)
    _check("water_l_per_kwh_source", water_l_per_kwh_source, 0.0)
    return _out(facility_energy_kwh * water_l_per_kwh_source)
