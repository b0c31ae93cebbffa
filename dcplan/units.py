"""The one pint registry of dcplan, and the canonical units used inside it.

pint lives at the edges only: study files and user calls may give ``"132 kW"``,
``"36 month"`` or ``"1.8 L/kWh"``; :func:`to_canonical` turns each into a plain float in
the field's canonical unit, and everything downstream (physics, inputs, the optimiser)
works on plain floats. Output variables carry their unit as a ``units`` attribute.

Canonical units (the suffix of a field or column names it):

=================  ============  ==========================================
suffix             unit          used for
=================  ============  ==========================================
``_w``             W             chip power
``_kw``            kW            node, rack and per-GPU power
``_mw``            MW            site, interconnect and fleet power
``_mwh``           MWh           energy
``_kv``            kV            voltage
``_m3``            m**3          water volumes
``_l_per_kwh``     L/kWh         water intensity (WUE)
``_usd``           USD           money (constant dollars of the study)
``_usd_per_mwh``   USD/MWh       energy prices
``_usd_per_m3``    USD/m**3      water prices
``_usd_per_mw``    USD/MW        capacity costs
``_yr``            year          durations and lead times
``_c``             degC          temperatures
``_km``            km            distances
``_t``             t (tonne)     CO2 mass
``_t_per_mwh``     t/MWh         emission intensity
=================  ============  ==========================================
"""

from __future__ import annotations

import numbers
import re

import pint

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.define("USD = [currency] = dollar = usd")
ureg.define("kUSD = 1e3 USD")
ureg.define("MUSD = 1e6 USD")
ureg.define("BUSD = 1e9 USD")
ureg.define("GPU = [accelerator] = gpu = gpus")
ureg.define("FLOPS = 1 / second = flops")
# a calendar year used as a label (2028), not a duration: its own dimension, so it never
# converts to or from "year" by mistake; readers of inputs.nc parse it with this registry
ureg.define("calendar_year = [calendar_year]")
Q_ = ureg.Quantity

#: canonical unit of each kind of quantity a study can hold
CANONICAL: dict[str, str] = {
    "W": "W",
    "kW": "kW",
    "MW": "MW",
    "MWh": "MWh",
    "kV": "kV",
    "m3": "m**3",
    "m3/yr": "m**3/year",
    "L/kWh": "L/kWh",
    "USD": "USD",
    "USD/MWh": "USD/MWh",
    "USD/m3": "USD/m**3",
    "USD/MW": "USD/MW",
    "USD/GPU": "USD/GPU",
    "USD/t": "USD/t",
    "USD/yr": "USD/year",
    "USD/MW/yr": "USD/MW/year",
    "MW/yr": "MW/year",
    "yr": "year",
    "h": "hour",
    "degC": "degC",
    "delta_degC": "delta_degC",
    "km": "km",
    "m": "m",
    "t": "t",
    "t/yr": "t/year",
    "t/MWh": "t/MWh",
    "GPU": "GPU",
    "TFLOPS": "TFLOPS",
    "PFLOPS": "PFLOPS",
    "1": "dimensionless",
}

_ALIASES = {
    # spellings people write in study files that pint does not know
    r"\bm3\b": "m**3",
    r"\bmonths?\b": "month",
    r"\byrs?\b": "year",
    r"\bGPUs\b": "GPU",
    r"%": " percent",
    r"\$": "USD ",
}


def _normalise(text: str) -> str:
    text = text.strip().replace(",", "")
    for pattern, repl in _ALIASES.items():
        text = re.sub(pattern, repl, text)
    return text


def parse_quantity(text: str) -> pint.Quantity:
    """Parse a quantity string such as ``"132 kW"`` or ``"36 month"``.

    Raises
    ------
    ValueError
        If pint cannot read the string; the message quotes it.
    """
    try:
        return Q_(_normalise(text))
    except Exception as exc:  # pint raises several unrelated types here
        detail = str(exc)[:120]
        msg = f"cannot read {_short(text)} as a quantity ({exc.__class__.__name__}: {detail})"
        raise ValueError(msg) from exc


def to_canonical(value, unit: str, *, field: str = "value") -> float:
    """Convert a number, quantity string or pint Quantity to a float in ``unit``.

    A bare number is taken to already be in the canonical ``unit``.

    Parameters
    ----------
    value : float, int, str or pint.Quantity
        The given value, e.g. ``132``, ``"132 kW"``, ``"0.132 MW"``.
    unit : str
        A key of :data:`CANONICAL` (or any pint unit expression).
    field : str
        The field name, quoted in error messages.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the value cannot be read, or has the wrong dimension; the message names the
        field, the value, the expected unit and how to write it.
    """
    target = CANONICAL.get(unit, unit)
    if isinstance(value, bool):
        msg = f"{field}: expected a number or a quantity in {unit}, got {_short(value)}"
        raise ValueError(msg)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        stripped = value.strip()
        try:
            return float(stripped.replace(",", ""))
        except ValueError:
            pass
        try:
            quantity = parse_quantity(stripped)
        except ValueError as exc:
            msg = f"{field}: {exc}; write a number in {unit} or a quantity like '{_example(unit)}'"
            raise ValueError(msg) from exc
    elif isinstance(value, pint.Quantity):
        quantity = value
    else:
        msg = f"{field}: expected a number or a quantity in {unit}, got {_short(value)}"
        raise ValueError(msg)
    try:
        return float(quantity.to(target).magnitude)
    except pint.DimensionalityError as exc:
        msg = (
            f"{field}: {_short(value)} has dimension {quantity.dimensionality}, "
            f"expected a quantity convertible to {unit} (e.g. '{_example(unit)}')"
        )
        raise ValueError(msg) from exc
    except Exception as exc:  # offset-unit arithmetic and other pint failures
        msg = f"{field}: cannot convert {_short(value)} to {unit} ({str(exc)[:120]})"
        raise ValueError(msg) from exc


def _short(value, limit: int = 60) -> str:
    """repr of a value cut to ``limit`` characters: messages never grow with the input."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    elif isinstance(value, dict | list | tuple | set):
        text = f"a {type(value).__name__} of {len(value)} items"
    else:
        text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "..."


def _example(unit: str) -> str:
    return f"1 {unit}" if unit != "1" else "0.5"


def dimensionality_of(unit: str) -> str:
    """Return pint's dimensionality text for a canonical unit key (for docs and schemas)."""
    return str(ureg(CANONICAL.get(unit, unit)).dimensionality)
