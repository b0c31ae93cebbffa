"""Tests of dcplan.physics.electrical (transformer, UPS, distribution, redundancy)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dcplan.physics import electrical as el
from dcplan.physics.loads import training_load

LOADS = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0])


def test_transformer_matches_doe_level():
    # 10 CFR 431.196(b): 2,500 kVA liquid-immersed three-phase, 99.53 % at 50 % load
    assert el.transformer_efficiency(0.5) == pytest.approx(0.9953, abs=5e-5)
    # hand computation of the loss model: 0.25 / (0.25 + 0.001 + 0.0055 * 0.0625)
    assert el.transformer_efficiency(0.25) == pytest.approx(0.25 / 0.25134375, rel=1e-12)
    assert el.transformer_efficiency(0.0) == 0.0
    # a lossless transformer is perfect at any load, and 0/0 is reported as 0
    assert el.transformer_efficiency(0.7, 0.0, 0.0) == 1.0
    assert el.transformer_efficiency(0.0, 0.0, 0.0) == 0.0


def test_ups_within_published_ranges_and_falls_at_low_load():
    dc = el.ups_efficiency(LOADS)
    eco = el.ups_efficiency(LOADS, mode="eco")
    # check 6: double conversion <= ~96-97 %; eco 98-99 % at normal loads
    assert dc.max() <= 0.97
    assert 0.95 <= el.ups_efficiency(0.5) <= 0.97
    assert 0.98 <= el.ups_efficiency(0.5, "eco") <= 0.99
    # Ton & Fortenbury (LBNL 2005): efficiency falls at part load; Riello: ~85 % at
    # 20-25 % for older units, so a modern curve sits at or above that
    assert (np.diff(dc[:5]) > 0).all()
    assert 0.85 <= el.ups_efficiency(0.2) < el.ups_efficiency(0.5)
    assert (eco > dc).all()


def test_distribution_known_value():
    # 1.5 % resistive loss at rated load -> 1/(1.015); half load -> 1/(1.0075)
    assert el.distribution_efficiency(1.0) == pytest.approx(1 / 1.015)
    assert el.distribution_efficiency(0.5) == pytest.approx(1 / 1.0075)


def test_every_stage_and_chain_below_one():
    for value in (
        el.transformer_efficiency(LOADS),
        el.ups_efficiency(LOADS),
        el.ups_efficiency(LOADS, "eco"),
        el.distribution_efficiency(LOADS),
        el.chain_efficiency(LOADS),
        el.chain_efficiency(LOADS, redundancy="N", ups_mode="eco"),
    ):
        assert (value < 1).all() and (value > 0).all()


def test_chain_traces_power_upstream_by_hand():
    # 2N at 80 % design load: every unit at 40 %; stages distribution, UPS, 2 transformers
    x, f = 0.8, 2.0
    p = x + f * 0.015 * (x / f) ** 2  # busway/PDU
    p = p + f * (0.008 + 0.022 * (p / f) + 0.010 * (p / f) ** 2)  # UPS double conversion
    for _ in range(2):
        p = p + f * (0.001 + 0.0055 * (p / f) ** 2)  # transformers
    assert el.chain_efficiency(x, redundancy="2N") == pytest.approx(x / p, rel=1e-12)
    assert el.electrical_loss_power(x, redundancy="2N") == pytest.approx(p - x, rel=1e-12)
    # a per-unit load with "N" is the same as the design load with the scheme
    assert el.chain_efficiency(0.4) == pytest.approx(el.chain_efficiency(0.8, "2N"))
    # close to the product of stage efficiencies at the unit load (upstream stages
    # carry a little more than the IT load)
    unit = x / f
    product = (el.ups_efficiency(unit) * el.transformer_efficiency(unit) ** 2
               * el.distribution_efficiency(unit))
    assert el.chain_efficiency(x, "2N") == pytest.approx(product, abs=2e-3)
    # at part load redundancy costs efficiency: 2N units run where fixed losses dominate
    for low in (0.2, 0.3):
        assert el.chain_efficiency(low, "2N") < el.chain_efficiency(low, "N")
        assert el.chain_efficiency(low, "2(N+1)") < el.chain_efficiency(low, "2N")
    assert el.chain_efficiency(x, transformer_stages=1) > el.chain_efficiency(x)


def test_loss_power_is_finite_at_zero_load():
    # no-load losses remain: 2N -> 2 x (UPS 0.8 % + 2 transformers x 0.1 %) = 2.0 %
    # (+ a hair: upstream stages also carry the downstream no-load losses)
    assert el.electrical_loss_power(0.0, redundancy="2N") == pytest.approx(0.020, rel=1e-3)
    assert el.chain_efficiency(0.0) == 0.0
    hourly = el.electrical_loss_power(np.array([0.0, 0.2, 0.8]))
    assert (np.diff(hourly) > 0).all()


def test_loss_fraction_plausible_pue_adder():
    # 2N double conversion at 80 % load: ~6 % of IT; eco ~3 %; both well under the
    # ~0.1 overhead of a hyperscale PUE 1.10 for eco (Google 2024 report)
    dc = el.electrical_loss_fraction(0.8)
    eco = el.electrical_loss_fraction(0.8, ups_mode="eco")
    assert 0.04 <= dc <= 0.09
    assert 0.02 <= eco <= 0.04
    assert dc == pytest.approx(1 / el.chain_efficiency(0.8) - 1)
    # losses per unit IT rise at low load
    low = el.electrical_loss_fraction(0.2)
    assert low > dc


def test_loss_fraction_over_hourly_curve_is_fast_and_vectorised():
    curve = training_load()
    losses = el.electrical_loss_fraction(curve.series, redundancy="2N")
    assert losses.shape == (8760,)
    assert (losses > 0).all()
    # in a 2N chain (units near 40 %) checkpoint-dip hours have higher relative losses
    assert losses[curve.series.argmin()] > losses[curve.series.argmax()]


def test_scalar_ndarray_dataarray_agree():
    da = xr.DataArray(LOADS, dims="hour")
    for func in (el.transformer_efficiency, el.ups_efficiency, el.distribution_efficiency,
                 el.chain_efficiency, el.electrical_loss_fraction, el.electrical_loss_power):
        arr = func(LOADS)
        out = func(da)
        assert isinstance(out, xr.DataArray) and out.dims == ("hour",), func.__name__
        np.testing.assert_allclose(out.values, arr)
        for i, value in enumerate(LOADS):
            assert func(float(value)) == pytest.approx(arr[i]), func.__name__


@pytest.mark.parametrize(
    ("scheme", "modules", "factor"),
    [("N", 4, 1.0), ("N+1", 4, 1.25), ("N+1", 2, 1.5), ("2N", 4, 2.0),
     ("2(N+1)", 4, 2.5), ("2(N+1)", 3, 8 / 3), ("2n", 4, 2.0), ("N + 1", 5, 1.2)],
)
def test_redundancy_factor(scheme, modules, factor):
    # check 7: installed >= N (Tier I), N+1 (Tier II/III), 2N or 2(N+1) (Tier IV)
    assert el.redundancy_factor(scheme, modules) == pytest.approx(factor)


def test_redundancy_invalid_scheme_lists_valid_ones():
    with pytest.raises(ValueError, match=r"valid schemes: N, N\+1, 2N, 2\(N\+1\)"):
        el.redundancy_factor("3N")
    with pytest.raises(ValueError, match="modules"):
        el.redundancy_factor("N+1", modules=0)
    with pytest.raises(ValueError, match="unknown redundancy"):
        el.chain_efficiency(0.5, redundancy="tier4")


def test_facility_power_sum_and_validation():
    assert el.facility_power(100.0, 12.0, 6.0, 1.5) == pytest.approx(119.5)
    it = np.array([100.0, 50.0])
    total = el.facility_power(it, 0.1 * it, el.electrical_loss_fraction(0.8) * it)
    assert (total / it > 1).all()
    with pytest.raises(ValueError, match="mechanical"):
        el.facility_power(100.0, -1.0, 5.0)
    with pytest.raises(ValueError, match="electrical_losses"):
        el.facility_power(100.0, 1.0, np.nan)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: el.ups_efficiency(0.5, mode="online"), "valid modes"),
        (lambda: el.ups_efficiency(-0.1), "load_fraction"),
        (lambda: el.transformer_efficiency(0.5, no_load_loss=-0.01), "no_load_loss"),
        (lambda: el.chain_efficiency(1.5), "load_fraction"),
        (lambda: el.chain_efficiency(0.5, transformer_stages=1.5), "transformer_stages"),
        (lambda: el.electrical_loss_fraction(0.0), "load_fraction"),
        (lambda: el.chain_efficiency(0.5, ups_mode="online"), "valid modes"),
        (lambda: el.electrical_loss_power(-0.5), "load_fraction"),
        (lambda: el.distribution_efficiency(0.5, full_load_loss=0.5), "full_load_loss"),
    ],
)
def test_invalid_inputs(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_redundancy_capex_multiplier_hand_values():
    # 25 % electrical share scaled by installed capacity relative to 2N
    # (N: 1 - 0.25 + 0.25 x 1/2; N+1 with 4+1 modules: 0.75 + 0.25 x 1.25/2)
    assert el.redundancy_capex_multiplier("N") == pytest.approx(0.875)
    assert el.redundancy_capex_multiplier("N+1") == pytest.approx(0.90625)
    assert el.redundancy_capex_multiplier("2N") == pytest.approx(1.0)
    assert el.redundancy_capex_multiplier("2(N+1)") == pytest.approx(1.0625)
    # installed generator capacity: 125 % sizing times the scheme's installed factor
    assert el.genset_installed_mw_per_it_mw("2N") == pytest.approx(2.5)


def test_genset_test_hours_respect_state_limits_and_fuel_cost():
    # federal 100 h M&T cap and practice 12 h; a state total of 5 h would bind
    hours = el.genset_test_hours(np.array([np.nan, 500.0, 5.0]))
    np.testing.assert_allclose(hours, [12.0, 12.0, 5.0])
    # 12 h x 1,000 kW x 0.27 L/kWh x 1.0 USD/L
    assert el.genset_fuel_usd_per_mw_yr(12.0) == pytest.approx(3240.0)


def test_inputs_capex_follows_the_redundancy_scheme():
    import dcplan
    from dcplan.spec import parse_study

    def capex(scheme):
        st = parse_study({
            "name": "x", "horizon": {"first_year": 2026, "last_year": 2030},
            "electrical": {"redundancy": scheme},
            "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 1000}]},
            "sites": {"inline": [{"site_id": "a", "lat": 32.78, "lon": -96.8,
                                  "headroom_mw": 50}]}})
        return dcplan.build_inputs(st)["facility_capex_usd_per_mw"].sel(
            site="a", cooling="dlc_dry").item()
    # data/cooling.csv: 12.75 M$/MW at the 2N reference
    assert capex("2N") == pytest.approx(12.75e6)
    assert capex("N") == pytest.approx(12.75e6 * 0.875)
    assert capex("2(N+1)") > capex("2N") > capex("N+1") > capex("N")
