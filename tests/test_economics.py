"""Capital charges inside the horizon, against textbook figures and exact identities."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.economics import capital_factor, capital_recovery_factor

YEARS = np.arange(2026, 2036)


def test_crf_matches_the_textbook_table():
    # interest tables: A/P at 7 % over 20 years = 0.09439, at 10 % over 5 years = 0.26380
    assert capital_recovery_factor(0.07, 20) == pytest.approx(0.094393, abs=1e-6)
    assert capital_recovery_factor(0.10, 5) == pytest.approx(0.263797, abs=1e-6)
    assert capital_recovery_factor(0.0, 4) == pytest.approx(0.25)


def test_annuities_of_a_life_inside_the_horizon_are_worth_the_price():
    # the present value of the annuity payments is the price, discounted to the purchase year
    f = capital_factor(YEARS, 2026, 0.07, 5, "annuity")
    df = 1.07 ** -(YEARS - 2026)
    inside = YEARS + 5 - 1 <= YEARS[-1]
    np.testing.assert_allclose(f[inside], df[inside], rtol=1e-12)
    assert (f[~inside] < df[~inside]).all()


def test_a_gpu_bought_in_the_last_year_pays_one_annuity():
    f = capital_factor(YEARS, 2026, 0.07, 5, "annuity")
    assert f[-1] == pytest.approx(capital_recovery_factor(0.07, 5) / 1.07 / 1.07**9)
    # against the full price: a $30k GPU needed one year costs ~$6.8k, not $30k (value in 2035)
    assert 30_000 * f[-1] * 1.07**9 == pytest.approx(6_838.0, abs=1.0)


def test_at_zero_rate_annuity_and_salvage_charge_the_share_of_life_inside():
    a = capital_factor(YEARS, 2026, 0.0, 4, "annuity")
    s = capital_factor(YEARS, 2026, 0.0, 4, "salvage")
    share = np.minimum(YEARS[-1] - YEARS + 1, 4) / 4
    np.testing.assert_allclose(a, share, rtol=1e-12)
    np.testing.assert_allclose(s, share, rtol=1e-12)


def test_salvage_credits_the_straight_line_residual_one_year_after_the_horizon():
    s = capital_factor(YEARS, 2026, 0.05, 20, "salvage")
    df = 1.05 ** -(YEARS - 2026)
    end = 1.05 ** -(YEARS[-1] + 1 - 2026)
    left = YEARS + 20 - 1 - YEARS[-1]
    np.testing.assert_allclose(s, df - left / 20 * end, rtol=1e-12)


def test_none_is_the_discount_factor_and_every_method_never_rises():
    n = capital_factor(YEARS, 2026, 0.07, 5, "none")
    np.testing.assert_allclose(n, 1.07 ** -(YEARS - 2026))
    for method in ("annuity", "salvage", "none"):
        f = capital_factor(YEARS, 2026, 0.07, [1.0, 3.0, 20.0], method)
        assert f.shape == (3, len(YEARS))
        assert (np.diff(f, axis=-1) <= 1e-15).all(), method


def test_fractional_life_pays_a_fraction_of_its_last_annuity():
    f = capital_factor(YEARS, 2026, 0.0, 2.5, "annuity")
    assert f[0] == pytest.approx(1.0)  # 2.5 years of 1/2.5 each, all inside
    assert f[-1] == pytest.approx(0.4)  # one year inside


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="capital cost method"):
        capital_factor(YEARS, 2026, 0.07, 5, "straight")
