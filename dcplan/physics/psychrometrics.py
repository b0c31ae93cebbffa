r"""Moist-air properties from the ASHRAE Handbook Fundamentals (SI), vectorised.

Every function accepts scalars, :class:`numpy.ndarray` or :class:`xarray.DataArray`
(broadcast by dimension name) and returns the same kind: a Python ``float`` for scalar
input, an array otherwise. Temperatures are in degrees Celsius, pressures in pascals and
relative humidity is a fraction in [0, 1] (not percent). psychrolib implements the same
equations one value at a time; these versions run on whole (site, hour) arrays at once.

References
----------
.. [1] ASHRAE, "Psychrometrics", chapter 1 of *ASHRAE Handbook: Fundamentals*, SI
   edition, 2017. Eq. (3) standard atmosphere, eqs. (5)-(6) Hyland-Wexler saturation
   pressure, eq. (20) humidity ratio, eqs. (33)/(35) psychrometric equation.
.. [2] Hyland, R. W. and Wexler, A., "Formulations for the thermodynamic properties of
   the saturated phases of H2O from 173.15 K to 473.15 K", *ASHRAE Transactions* 89(2A),
   1983.
.. [3] Meyer, D. and Thevenard, D., "PsychroLib: a library of psychrometric functions to
   calculate thermodynamic properties of air", *Journal of Open Source Software* 4(33),
   1137, 2019. doi:10.21105/joss.01137 (used as the test oracle).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "pressure_from_elevation",
    "saturation_vapor_pressure",
    "humidity_ratio",
    "saturation_humidity_ratio",
    "vapor_pressure_from_humidity_ratio",
    "dewpoint_from_vapor_pressure",
    "dewpoint_from_relative_humidity",
    "relative_humidity_from_dewpoint",
    "humidity_ratio_from_wet_bulb",
    "wet_bulb_from_humidity_ratio",
    "wet_bulb",
]

#: ratio of the molar masses of water vapour and dry air, ASHRAE [1] eq. (20)
EPSILON = 0.621945
#: triple point of water [degC]: below it saturation is over ice (Hyland-Wexler eq. 5)
TRIPLE_POINT_C = 0.01
_KELVIN = 273.15

# Hyland-Wexler coefficients, ASHRAE Fundamentals 2017 ch. 1 eqs. (5) (ice) and (6) (water)
_ICE = (-5.6745359e3, 6.3925247, -9.677843e-3, 6.2215701e-7, 2.0747825e-9,
        -9.484024e-13, 4.1635019)
_WATER = (-5.8002206e3, 1.3914993, -4.8640239e-2, 4.1764768e-5, -1.4452093e-8, 6.5459673)


def _apply(func, *args):
    """Run a numpy kernel on scalars, arrays or DataArrays, returning the same kind.

    DataArrays go through :func:`xarray.apply_ufunc` so that they broadcast by name and
    keep their coordinates; plain scalars come back as ``float``.
    """
    if any(isinstance(a, xr.DataArray) for a in args):
        return xr.apply_ufunc(func, *args, dask="allowed")
    arrays = [np.asarray(a, dtype=float) for a in args]
    out = func(*arrays)
    if all(a.ndim == 0 for a in arrays):
        if isinstance(out, tuple):
            return tuple(float(o) for o in out)
        return float(out)
    return out


def _check_range(name, values, low, high):
    """Raise ValueError when any finite value lies outside [low, high]."""
    arr = np.asarray(values.data if isinstance(values, xr.DataArray) else values, dtype=float)
    bad = np.isfinite(arr) & ((arr < low) | (arr > high))
    if bad.any():
        first = arr[bad].ravel()[0]
        raise ValueError(
            f"{name} has {int(bad.sum())} value(s) outside [{low}, {high}], e.g. {first!r}"
        )


def pressure_from_elevation(elevation_m):
    r"""Standard-atmosphere barometric pressure at an elevation.

    .. math:: p = 101\,325\,(1 - 2.25577\times10^{-5} Z)^{5.2559}

    Parameters
    ----------
    elevation_m : numeric
        Elevation above sea level, valid from -5,000 to 11,000. [m]

    Returns
    -------
    pressure_pa : numeric
        Barometric pressure. [Pa]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eq. (3).
    """
    _check_range("elevation_m", elevation_m, -5000.0, 11000.0)
    return _apply(lambda z: 101325.0 * (1.0 - 2.25577e-5 * z) ** 5.2559, elevation_m)


def _ln_pws_parts(tk, ice):
    """ln(pws) and its derivative d ln(pws)/dT for kelvin temperatures (one branch)."""
    c = _ICE if ice else _WATER
    if ice:
        poly = c[1] + tk * (c[2] + tk * (c[3] + tk * (c[4] + tk * c[5])))
        dpoly = c[2] + tk * (2 * c[3] + tk * (3 * c[4] + tk * 4 * c[5]))
        log_c = c[6]
    else:
        poly = c[1] + tk * (c[2] + tk * (c[3] + tk * c[4]))
        dpoly = c[2] + tk * (2 * c[3] + tk * 3 * c[4])
        log_c = c[5]
    inv = 1.0 / tk
    return c[0] * inv + poly + log_c * np.log(tk), -c[0] * inv * inv + dpoly + log_c * inv


def _ln_pws(t, derivative=False):
    """ln of the Hyland-Wexler saturation pressure [Pa] (and d/dT) for ndarray t [degC].

    The ice branch is evaluated only where t <= 0.01 degC, which keeps warm-climate
    arrays to a single pass.
    """
    t = np.asarray(t)
    if t.dtype != np.float32:
        t = t.astype(float)
    shape = t.shape
    t = t.reshape(-1)
    tk = t + np.asarray(_KELVIN, dtype=t.dtype)
    ln, dln = _ln_pws_parts(tk, ice=False)
    icy = t <= TRIPLE_POINT_C
    if icy.any():
        ln[icy], dln[icy] = _ln_pws_parts(tk[icy], ice=True)
    ln, dln = ln.reshape(shape), dln.reshape(shape)
    return (ln, dln) if derivative else ln


def _pws(t):
    """Hyland-Wexler saturation pressure [Pa] of ndarray temperature [degC]."""
    return np.exp(_ln_pws(t))


def _dln_pws_dt(t):
    """Derivative of ln(pws) with temperature [1/K], for Newton steps."""
    return _ln_pws(t, derivative=True)[1]


def saturation_vapor_pressure(temp_c):
    r"""Saturation pressure of water vapour over liquid water (or ice below 0.01 degC).

    Hyland-Wexler formulation as given in ASHRAE Fundamentals:

    .. math:: \ln p_{ws} = C_8/T + C_9 + C_{10} T + C_{11} T^2 + C_{12} T^3 + C_{13}\ln T

    over water (eq. 6), with the seven-term eq. (5) over ice; :math:`T` in kelvin.

    Parameters
    ----------
    temp_c : numeric
        Temperature, valid from -100 to 200. [degC]

    Returns
    -------
    pws_pa : numeric
        Saturation vapour pressure. [Pa]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (5) and (6).
    .. [2] Hyland and Wexler, ASHRAE Transactions 89(2A), 1983.
    """
    _check_range("temp_c", temp_c, -100.0, 200.0)
    return _apply(_pws, temp_c)


def humidity_ratio(vapor_pressure_pa, pressure_pa):
    r"""Humidity ratio of moist air from its partial vapour pressure.

    .. math:: W = 0.621945\, p_w / (p - p_w)

    Parameters
    ----------
    vapor_pressure_pa : numeric
        Partial pressure of water vapour. [Pa]
    pressure_pa : numeric
        Total (barometric) pressure. [Pa]

    Returns
    -------
    humidity_ratio : numeric
        Mass of water vapour per mass of dry air. [kg/kg]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eq. (20).
    """
    return _apply(lambda pw, p: EPSILON * pw / (p - pw), vapor_pressure_pa, pressure_pa)


def saturation_humidity_ratio(temp_c, pressure_pa):
    """Humidity ratio of saturated air at a temperature and pressure. [kg/kg]

    Parameters
    ----------
    temp_c : numeric
        Temperature. [degC]
    pressure_pa : numeric
        Barometric pressure. [Pa]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (6) and (23).
    """
    _check_range("temp_c", temp_c, -100.0, 200.0)
    return _apply(lambda t, p: _ws(t, p), temp_c, pressure_pa)


def _ws(t, p):
    pws = _pws(t)
    return EPSILON * pws / (p - pws)


def vapor_pressure_from_humidity_ratio(humidity_ratio, pressure_pa):
    """Partial vapour pressure [Pa] from humidity ratio [kg/kg] and pressure [Pa].

    Inverse of :func:`humidity_ratio`, ASHRAE Fundamentals 2017 ch. 1 eq. (20).
    """
    return _apply(lambda w, p: p * w / (EPSILON + w), humidity_ratio, pressure_pa)


def _dewpoint_from_pw(pw):
    """Invert Hyland-Wexler by Newton iteration on ln(pws); pw [Pa] -> dew point [degC]."""
    pw = np.maximum(pw, 1e-3)
    ln_pw = np.log(pw)
    # Magnus-type start (within ~0.5 K over -40..50 degC), then Newton on ln p.
    g = np.log(pw / 611.2)
    td = 243.12 * g / (17.62 - g)
    for _ in range(8):
        step = (np.log(_pws(td)) - ln_pw) / _dln_pws_dt(td)
        td = np.clip(td - step, -100.0, 200.0)
        if np.nanmax(np.abs(step), initial=0.0) < 1e-9:
            break
    return td


def dewpoint_from_vapor_pressure(vapor_pressure_pa):
    """Dew-point (or frost-point below 0.01 degC) temperature of a vapour pressure.

    Solves :math:`p_{ws}(T_d) = p_w` for :math:`T_d` with Newton's method on the
    Hyland-Wexler equations (the inverse used by ASHRAE Fundamentals eqs. 5-6).

    Parameters
    ----------
    vapor_pressure_pa : numeric
        Partial pressure of water vapour, > 0. [Pa]

    Returns
    -------
    dewpoint_c : numeric
        Dew-point temperature. [degC]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (5), (6).
    """
    _check_range("vapor_pressure_pa", vapor_pressure_pa, 0.0, 1.6e6)
    return _apply(_dewpoint_from_pw, vapor_pressure_pa)


def _check_rh(relative_humidity):
    arr = np.asarray(
        relative_humidity.data if isinstance(relative_humidity, xr.DataArray)
        else relative_humidity, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size and (finite.min() < 0 or finite.max() > 1.0 + 1e-9):
        hint = (" (it looks like percent: divide by 100)" if finite.max() > 1.5 else "")
        raise ValueError(
            f"relative_humidity must be a fraction in [0, 1], found values in "
            f"[{finite.min():g}, {finite.max():g}]{hint}"
        )


def dewpoint_from_relative_humidity(temp_c, relative_humidity):
    """Dew point from dry-bulb temperature and relative humidity.

    Parameters
    ----------
    temp_c : numeric
        Dry-bulb temperature. [degC]
    relative_humidity : numeric
        Relative humidity as a fraction, 0 < RH <= 1. [1]

    Returns
    -------
    dewpoint_c : numeric
        Dew-point temperature. [degC]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (5), (6), (24).
    """
    _check_range("temp_c", temp_c, -100.0, 200.0)
    _check_rh(relative_humidity)
    return _apply(lambda t, rh: _dewpoint_from_pw(rh * _pws(t)), temp_c, relative_humidity)


def relative_humidity_from_dewpoint(temp_c, dewpoint_c):
    """Relative humidity [fraction] from dry-bulb and dew-point temperatures [degC].

    :math:`RH = p_{ws}(T_d) / p_{ws}(T)`; ASHRAE Fundamentals 2017 ch. 1 eq. (24).
    A dew point above the dry bulb is physically impossible and raises ValueError.
    """
    _check_range("temp_c", temp_c, -100.0, 200.0)
    _check_range("dewpoint_c", dewpoint_c, -100.0, 200.0)
    diff = np.asarray(dewpoint_c - temp_c, dtype=float)
    if np.nanmax(diff, initial=-np.inf) > 1e-6:
        raise ValueError(
            f"dewpoint_c exceeds temp_c by up to {np.nanmax(diff):.3g} K; "
            "a dew point cannot be above the dry bulb"
        )
    return _apply(lambda t, td: _pws(td) / _pws(t), temp_c, dewpoint_c)


def _w_from_twb(t, twb, p):
    """Psychrometric equation: humidity ratio from dry and wet bulb [degC], p [Pa]."""
    ws = _ws(twb, p)
    above = ((2501.0 - 2.326 * twb) * ws - 1.006 * (t - twb)) / (2501.0 + 1.86 * t - 4.186 * twb)
    below = ((2830.0 - 0.24 * twb) * ws - 1.006 * (t - twb)) / (2830.0 + 1.86 * t - 2.1 * twb)
    return np.where(twb >= 0.0, above, below)


def humidity_ratio_from_wet_bulb(temp_c, wet_bulb_c, pressure_pa):
    r"""Humidity ratio from dry-bulb and thermodynamic wet-bulb temperatures.

    .. math:: W = \frac{(2501 - 2.326 t^*) W_s^* - 1.006 (t - t^*)}{2501 + 1.86 t - 4.186 t^*}

    for :math:`t^* \ge 0` (eq. 33) and the ice form (eq. 35) below freezing.

    Parameters
    ----------
    temp_c : numeric
        Dry-bulb temperature. [degC]
    wet_bulb_c : numeric
        Thermodynamic wet-bulb temperature, <= dry bulb. [degC]
    pressure_pa : numeric
        Barometric pressure. [Pa]

    Returns
    -------
    humidity_ratio : numeric
        [kg/kg]; never below 1e-7 (psychrolib's floor).

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (33) and (35).
    """
    return _apply(lambda t, twb, p: np.maximum(_w_from_twb(t, twb, p), 1e-7),
                  temp_c, wet_bulb_c, pressure_pa)


def _psychrometric_residual(x, t, w, p):
    """W(t*) - W from ASHRAE eqs. (33)/(35) and its derivative with respect to t*."""
    ln, dln = _ln_pws(x, derivative=True)
    pws = np.exp(ln)
    ws = EPSILON * pws / (p - pws)
    dws = ws * dln * p / (p - pws)
    if x.min(initial=0.0) >= 0.0:  # all above freezing: scalar coefficients, fewer passes
        a, b, d = 2501.0, 2.326, 4.186
    else:
        above = x >= 0.0
        a = np.where(above, 2501.0, 2830.0)
        b = np.where(above, 2.326, 0.24)
        d = np.where(above, 4.186, 2.1)
    num = (a - b * x) * ws - 1.006 * (t - x)
    den = a + 1.86 * t - d * x
    dnum = -b * ws + (a - b * x) * dws + 1.006
    return num / den - w, (dnum * den + d * num) / den**2


#: elements per block: small enough that a block's temporaries stay in the CPU cache
_BLOCK = 1 << 15


def _wet_bulb(t, w, p):
    """Wet bulb [degC] of broadcastable ndarrays, solved block by block (see _wet_bulb_block)."""
    # float32 input stays float32 (twice the SIMD width; 1e-3 K is ample for hourly weather)
    dtype = np.float32 if np.asarray(t).dtype == np.float32 else np.float64
    tol = 1e-3 if dtype == np.float32 else 1e-5
    t, w, p = np.broadcast_arrays(*(np.asarray(x, dtype=dtype) for x in (t, w, p)))
    shape = t.shape
    t, w, p = t.reshape(-1), w.reshape(-1), p.reshape(-1)
    out = np.empty_like(t)
    for start in range(0, t.size, _BLOCK):
        sl = slice(start, start + _BLOCK)
        out[sl] = _wet_bulb_block(t[sl], w[sl], p[sl], tol=tol)
    return out.reshape(shape)


def _wet_bulb_block(t, w, p, tol=1e-5, max_iter=60):
    """Solve the psychrometric equation for the wet bulb t* (safeguarded Newton).

    W(t*) rises monotonically with t*, so the root is bracketed by [-100 degC, dry bulb].
    Each element takes Newton steps on the analytic derivative from a Stull (2011) start
    and falls back to bisection when a step leaves its bracket (the equation has a small
    jump at 0 degC, where ASHRAE switches from water to ice). Only elements that have not
    converged are iterated, so most of the array costs 3-4 evaluations.
    """
    # Stull (2011) sea-level wet bulb from RH [%], used only as a starting point
    pw = p * w / (EPSILON + w)
    rh = np.clip(100.0 * pw / _pws(t), 1.0, 100.0)
    x = (t * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t + rh)
         - np.arctan(rh - 1.676331) + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
         - 4.686035)
    x = np.clip(x, -100.0, t)
    lo = np.full_like(t, -100.0)
    hi = t.copy()
    idx = np.flatnonzero(np.isfinite(x))
    for _ in range(max_iter):
        if idx.size == 0:
            break
        xi, ti, wi, pi = x[idx], t[idx], w[idx], p[idx]
        f, fp = _psychrometric_residual(xi, ti, wi, pi)
        high = f > 0
        hi_i = np.where(high, xi, hi[idx])
        lo_i = np.where(high, lo[idx], xi)
        new = xi - f / fp
        bad = ~((new > lo_i) & (new < hi_i)) & (f != 0)
        new = np.where(bad, 0.5 * (lo_i + hi_i), new)
        new = np.where(f == 0, xi, new)
        x[idx], lo[idx], hi[idx] = new, lo_i, hi_i
        idx = idx[(np.abs(new - xi) > tol) & ((hi_i - lo_i) > tol)]
    return x


def wet_bulb_from_humidity_ratio(temp_c, humidity_ratio, pressure_pa):
    """Thermodynamic wet-bulb temperature from dry bulb and humidity ratio.

    Solves the psychrometric equation (ASHRAE Fundamentals ch. 1 eqs. 33/35) for the
    wet bulb by vectorised bisection between the dew point and the dry bulb, to 1e-4 K.

    Parameters
    ----------
    temp_c : numeric
        Dry-bulb temperature. [degC]
    humidity_ratio : numeric
        [kg/kg], >= 0.
    pressure_pa : numeric
        Barometric pressure. [Pa]

    Returns
    -------
    wet_bulb_c : numeric
        [degC]

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (33), (35).
    """
    _check_range("temp_c", temp_c, -100.0, 200.0)
    return _apply(lambda t, w, p: _wet_bulb(t, np.maximum(w, 1e-7), p),
                  temp_c, humidity_ratio, pressure_pa)


def wet_bulb(temp_c, pressure_pa=101325.0, *, relative_humidity=None, dewpoint_c=None):
    """Thermodynamic wet-bulb temperature from dry bulb and either RH or dew point.

    Parameters
    ----------
    temp_c : numeric
        Dry-bulb temperature. [degC]
    pressure_pa : numeric, default 101325
        Barometric pressure; use :func:`pressure_from_elevation` for a site. [Pa]
    relative_humidity : numeric, optional
        Relative humidity as a fraction in [0, 1]. [1]
    dewpoint_c : numeric, optional
        Dew-point temperature, <= dry bulb. [degC]

    Returns
    -------
    wet_bulb_c : numeric
        [degC]

    Raises
    ------
    ValueError
        If neither or both of ``relative_humidity`` and ``dewpoint_c`` are given, or a
        value is outside its physical range.

    References
    ----------
    .. [1] ASHRAE Handbook Fundamentals 2017 (SI), ch. 1, eqs. (5), (6), (20), (33), (35).
    """
    if (relative_humidity is None) == (dewpoint_c is None):
        raise ValueError("give exactly one of relative_humidity or dewpoint_c")
    _check_range("temp_c", temp_c, -100.0, 200.0)
    if relative_humidity is not None:
        _check_rh(relative_humidity)

        def kernel(t, rh, p):
            pw = rh * _pws(t)
            return _wet_bulb(t, EPSILON * pw / (p - pw), p)

        return _apply(kernel, temp_c, relative_humidity, pressure_pa)
    _check_range("dewpoint_c", dewpoint_c, -100.0, 200.0)

    def kernel(t, td, p):
        pw = _pws(np.minimum(td, t))
        return _wet_bulb(t, EPSILON * pw / (p - pw), p)

    return _apply(kernel, temp_c, dewpoint_c, pressure_pa)
