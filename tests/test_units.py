import pint
import pytest

from dcplan.units import Q_, parse_quantity, to_canonical


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("132 kW", "kW", 132.0),
        ("0.132 MW", "kW", 132.0),
        (132, "kW", 132.0),
        ("36 month", "yr", 3.0),
        ("80 weeks", "yr", 80 * 7 / 365.25),
        ("1.8 L/kWh", "L/kWh", 1.8),
        ("7 %", "1", 0.07),
        ("4.5 PFLOPS", "TFLOPS", 4500.0),
        ("12 MUSD/MW", "USD/MW", 12e6),
        ("95 degF", "degC", 35.0),
        ("2 m3/yr", "m3/yr", 2.0),
        ("1,500", "GPU", 1500.0),
        (Q_(2, "MW"), "kW", 2000.0),
    ],
)
def test_to_canonical_converts(value, unit, expected):
    assert to_canonical(value, unit) == pytest.approx(expected)


def test_wrong_dimension_names_field_and_unit():
    with pytest.raises(ValueError, match=r"chips\.x\.rack_kw.*\[mass\].*kW"):
        to_canonical("120 kg", "kW", field="chips.x.rack_kw")


@pytest.mark.parametrize("bad", ["12 blah", "kW kW kW ((", True, None, [1]])
def test_unreadable_values_raise_value_error(bad):
    with pytest.raises(ValueError):
        to_canonical(bad, "kW", field="f")


def test_parse_quantity_returns_pint_quantity():
    assert isinstance(parse_quantity("3 yr"), pint.Quantity)
