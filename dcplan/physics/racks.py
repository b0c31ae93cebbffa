r"""Rack density, floor space, cooling compatibility and rack busbar current.

Functions are pure and vectorised over scalars, numpy arrays and ``xarray.DataArray``
(DataArrays broadcast by dimension name, so a ``chip`` array against a ``cooling`` array
gives a ``(chip, cooling)`` result).

References
----------
.. [1] NVIDIA, "DGX SuperPOD Data Center Design featuring DGX H100" (4 x 10.2 kW =
   40.8 kW per rack) and "DGX B200 User Guide" (14.3 kW per system, air-cooled).
.. [2] NVIDIA, "DGX GB200 User Guide", hardware: NVL72 compute trays are liquid cooled;
   there is no air-cooled NVL72.
.. [3] The Register, Mar 2026: a 120 kW rack at 48 V needs more than 2.5 kA; legacy
   48/54 V rack busbars were engineered for 10-15 kW.
.. [4] NVIDIA, "800 VDC Architecture for Next-Generation AI Infrastructure", 2025.
.. [5] Uptime Institute / BICSI practice: white space of ~25-30 ft^2 (2.3-2.8 m^2) per
   rack position including hot and cold aisles (a planning rule of thumb).
"""

from __future__ import annotations

import numpy as np

from dcplan.physics.chips import _check

__all__ = [
    "AREA_PER_RACK_M2",
    "BUSBAR_MAX_CURRENT_A",
    "busbar_current_a",
    "busbar_ok",
    "compatible",
    "floor_area_m2_per_mw",
    "rack_density_kw_per_m2",
    "racks_per_mw",
]

#: White space per rack position incl. its share of hot and cold aisles [m^2].
#: **Assumption**: 30 ft^2, the upper end of the 25-30 ft^2 planning rule [5]_; liquid
#: halls add CDUs, which this figure does not include.
AREA_PER_RACK_M2 = 30 * 0.09290304  # 2.787 m^2

#: Highest rack busbar current treated as buildable [A]. **Assumption** between what is
#: built today (GB200/GB300 NVL72 at 132-136 kW on a 54 V busbar: ~2.5 kA [3]_) and
#: what physical_facts check 6 requires to be flagged (a 600 kW rack at 54 V: ~11 kA,
#: which needs 800 VDC distribution [4]_).
BUSBAR_MAX_CURRENT_A = 5000.0


def racks_per_mw(rack_kw):
    r"""Rack positions per MW of nameplate IT power.

    Parameters
    ----------
    rack_kw : numeric
        Rack nameplate power. [kW]

    Returns
    -------
    numeric
        Racks per MW of IT. [1/MW]

    Notes
    -----
    .. math:: n = 1000 / P_{rack}

    Examples
    --------
    >>> round(racks_per_mw(40.8), 2)
    24.51
    """
    _check("rack_kw", rack_kw, positive=True)
    return 1000.0 / rack_kw


def floor_area_m2_per_mw(rack_kw, area_per_rack_m2=AREA_PER_RACK_M2):
    r"""White-space floor area per MW of IT, aisles included.

    Parameters
    ----------
    rack_kw : numeric
        Rack nameplate power. [kW]
    area_per_rack_m2 : numeric, default 2.787
        White space per rack position incl. aisles (assumption, see
        :data:`AREA_PER_RACK_M2`). [m^2]

    Returns
    -------
    numeric
        White space per MW of IT. [m^2/MW]

    Notes
    -----
    .. math:: A = 1000\, a_{rack} / P_{rack}

    Examples
    --------
    >>> round(floor_area_m2_per_mw(132.0), 1)
    21.1
    """
    _check("area_per_rack_m2", area_per_rack_m2, positive=True)
    return racks_per_mw(rack_kw) * area_per_rack_m2


def rack_density_kw_per_m2(rack_kw, area_per_rack_m2=AREA_PER_RACK_M2):
    r"""IT power density of the white space.

    Parameters
    ----------
    rack_kw : numeric
        Rack nameplate power. [kW]
    area_per_rack_m2 : numeric, default 2.787
        White space per rack position incl. aisles. [m^2]

    Returns
    -------
    numeric
        IT power per m^2 of white space. [kW/m^2]

    Examples
    --------
    >>> round(rack_density_kw_per_m2(40.8), 2)
    14.64
    """
    _check("rack_kw", rack_kw, positive=True)
    _check("area_per_rack_m2", area_per_rack_m2, positive=True)
    return rack_kw / area_per_rack_m2


def compatible(rack_kw, air_coolable, max_rack_kw, needs_air_cooled_it):
    r"""Whether a rack profile may be placed in a hall of a cooling technology.

    A pair is allowed only if the rack's power does not exceed the technology's rack
    limit **and** either the technology does not rely on air-cooled IT or the system is
    air coolable. A GB200 NVL72 (no air-cooled option [2]_) therefore never lands in an
    air hall, whatever the hall's limit.

    Parameters
    ----------
    rack_kw : numeric or bool-compatible array
        Rack nameplate power of each system (e.g. dim ``chip``). [kW]
    air_coolable : bool or array of bool
        Whether the system has an air-cooled variant (e.g. dim ``chip``).
    max_rack_kw : numeric
        Highest rack power the technology supports (e.g. dim ``cooling``; from
        ``data/cooling.csv``). [kW]
    needs_air_cooled_it : bool or array of bool
        Whether the technology cools the IT with air (``air_cooled_it`` in
        ``data/cooling.csv``; e.g. dim ``cooling``).

    Returns
    -------
    bool or array of bool
        Allowed pairs. DataArrays broadcast by dimension name; plain numpy arrays
        broadcast by position (pass ``rack_kw[:, None]`` against ``max_rack_kw[None, :]``).

    Notes
    -----
    .. math:: ok = (P_{rack} \le P_{max}) \wedge (\lnot air_{tech} \vee air_{chip})

    Examples
    --------
    >>> bool(compatible(28.6, True, 40.0, True)), bool(compatible(132.0, False, 150.0, True))
    (True, False)
    """
    _check("rack_kw", rack_kw, positive=True)
    _check("max_rack_kw", max_rack_kw, positive=True)
    for name, value in (("air_coolable", air_coolable),
                        ("needs_air_cooled_it", needs_air_cooled_it)):
        kind = np.asarray(value).dtype.kind
        if kind not in "bi":
            msg = f"{name} must hold booleans (true/false), got dtype {np.asarray(value).dtype}"
            raise ValueError(msg)
    fits = rack_kw <= max_rack_kw
    cooled = np.logical_or(np.logical_not(needs_air_cooled_it), air_coolable)
    return np.logical_and(fits, cooled)


def busbar_current_a(rack_kw, voltage_v):
    r"""Current a rack draws from its DC busbar (or feed) at a given voltage.

    Parameters
    ----------
    rack_kw : numeric
        Rack power. [kW]
    voltage_v : numeric
        Distribution voltage, e.g. 48, 54 or 800 (VDC). [V]

    Returns
    -------
    numeric
        Current. [A]

    Notes
    -----
    .. math:: I = 1000\,P_{rack} / V

    References
    ----------
    .. [3] The Register, Mar 2026: 120 kW at 48 V needs > 2.5 kA.

    Examples
    --------
    >>> busbar_current_a(120.0, 48.0)
    2500.0
    """
    _check("rack_kw", rack_kw)
    _check("voltage_v", voltage_v, positive=True)
    return rack_kw * 1000.0 / voltage_v


def busbar_ok(rack_kw, voltage_v=54.0, max_current_a=BUSBAR_MAX_CURRENT_A):
    r"""Whether a rack's busbar current is buildable at that voltage.

    False flags racks that need a higher distribution voltage (800 VDC [4]_), e.g. a
    600 kW Kyber-class rack on a 54 V busbar (11 kA; physical_facts check 6).

    Parameters
    ----------
    rack_kw : numeric
        Rack power. [kW]
    voltage_v : numeric, default 54
        Busbar voltage. [V]
    max_current_a : numeric, default 5000
        Highest buildable busbar current (assumption, :data:`BUSBAR_MAX_CURRENT_A`). [A]

    Returns
    -------
    bool or array of bool

    Examples
    --------
    >>> bool(busbar_ok(132.0)), bool(busbar_ok(600.0)), bool(busbar_ok(600.0, 800.0))
    (True, False, True)
    """
    _check("max_current_a", max_current_a, positive=True)
    return busbar_current_a(rack_kw, voltage_v) <= max_current_a
