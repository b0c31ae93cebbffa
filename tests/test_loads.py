"""Tests of dcplan.physics.loads (hourly load curves)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dcplan.physics.loads import (
    HOURS_PER_YEAR,
    LoadCurve,
    inference_load,
    mix_loads,
    training_load,
)


def _invariants(curve: LoadCurve) -> None:
    assert curve.series.shape == curve.envelope.shape
    assert curve.series.min() >= 0 and curve.envelope.max() <= 1
    assert (curve.envelope >= curve.series - 1e-12).all()
    eps = 1e-12
    assert 0 <= curve.trough <= curve.mean + eps
    assert curve.mean <= curve.hourly_peak + eps
    assert curve.hourly_peak <= curve.peak <= 1


# ----------------------------------------------------------------- training

def test_training_defaults_match_measurements():
    curve = training_load()
    _invariants(curve)
    assert curve.hours == HOURS_PER_YEAR == 8760
    # Latif et al. 2025 (arXiv:2506.14551): DGX H100 training at ~76-82 % of 10.2 kW
    assert 0.76 <= curve.mean <= 0.82
    assert curve.mean == pytest.approx(0.79, abs=1e-12)
    # without smoothing the synchronous swing reaches nameplate within the hour
    assert curve.peak == pytest.approx(1.0)
    assert curve.kind == "training"


def test_training_default_swing_is_at_least_half_of_it_load():
    # physical_facts check 9 (Choukse et al. 2025, arXiv:2508.14318; Meta Llama 3):
    # default swing >= 50 % of IT load without smoothing
    curve = training_load(checkpoint_interval_h=None, mean=0.6)
    swing = 2 * (curve.peak - curve.mean)  # unclipped: peak = mean + swing/2
    assert swing / curve.mean >= 0.5
    assert curve.peak == pytest.approx(0.6 + 0.25)


@pytest.mark.parametrize("mean", [0.5, 0.7, 0.79, 0.9])
def test_training_mean_is_exact(mean):
    assert training_load(mean=mean, seed=3).mean == pytest.approx(mean, abs=1e-12)


def test_training_checkpoints_dip_and_are_deterministic():
    a = training_load(seed=7)
    b = training_load(seed=7)
    np.testing.assert_array_equal(a.series, b.series)
    # one 6-min checkpoint every 4 h at a 0.6 dip: 2,190 dips a year, each -0.06 in its hour
    # (a checkpoint straddling an hour boundary splits over two hours)
    low = a.series < a.series.max() - 1e-12
    assert 2190 <= low.sum() <= 2 * 2190
    dipped = (a.series.max() - a.series[low]).sum()
    assert dipped == pytest.approx(2190 * 0.6 * 0.1, rel=1e-9)
    # different seeds move the checkpoints
    phases = {tuple(np.flatnonzero(training_load(seed=s).series < 0.8)[:3]) for s in range(8)}
    assert len(phases) > 1


def test_checkpoint_straddling_hours_is_split():
    # duration 1.5 h every 10 h: hourly overlaps are 1 or 0.5 and sum to 1.5 per cycle
    curve = training_load(hours=100, mean=0.5, checkpoint_interval_h=10,
                          checkpoint_duration_h=1.5, checkpoint_dip=0.4, seed=1)
    base = curve.series.max()
    overlap = (base - curve.series) / 0.4
    assert overlap.sum() == pytest.approx(15.0, abs=0.6)  # 10 cycles (edges may truncate)
    # a fully checkpointing hour has no compute phase, so no swing on top
    full = np.isclose(overlap, 1.0)
    if full.any():
        np.testing.assert_allclose(curve.envelope[full], curve.series[full])


def test_dip_deeper_than_load_stops_at_zero():
    curve = training_load(mean=0.3, checkpoint_dip=0.9, checkpoint_interval_h=10,
                          checkpoint_duration_h=2.0, swing_amplitude=0.2, seed=0)
    _invariants(curve)
    assert curve.mean == pytest.approx(0.3)
    assert curve.trough == pytest.approx(0.0, abs=1e-12)  # whole checkpoint hours at zero
    with pytest.raises(ValueError, match="checkpoint_duration_h"):
        training_load(checkpoint_interval_h=2, checkpoint_duration_h=2)


def test_smoothing_lowers_peak_by_at_most_30_percent():
    # NVIDIA GB300 NVL72 power smoothing: peak grid demand lower by up to 30 %
    plain = training_load(mean=0.7, checkpoint_interval_h=None)
    smooth = training_load(mean=0.7, checkpoint_interval_h=None, smoothing_cap=0.75)
    _invariants(smooth)
    assert smooth.mean == pytest.approx(plain.mean)
    assert smooth.peak == pytest.approx(0.75)
    reduction = 1 - smooth.peak / plain.peak
    assert 0 < reduction <= 0.30
    # a cap asking for more than 30 % is refused, naming the parameter
    with pytest.raises(ValueError, match="smoothing_cap"):
        training_load(mean=0.5, checkpoint_interval_h=None, smoothing_cap=0.5)


def test_default_smoothing_cap_valid_for_any_training_curve():
    from dcplan.physics.loads import DEFAULT_SMOOTHING_CAP, MAX_SMOOTHING_REDUCTION
    assert DEFAULT_SMOOTHING_CAP >= 1 - MAX_SMOOTHING_REDUCTION
    for mean in (0.5, 0.79, 0.9):
        plain = training_load(mean=mean)
        smooth = training_load(mean=mean, smoothing_cap=DEFAULT_SMOOTHING_CAP)
        assert 0 <= 1 - smooth.peak / plain.peak <= MAX_SMOOTHING_REDUCTION


def test_smoothing_cannot_shave_the_hourly_mean():
    curve = training_load(mean=0.79, smoothing_cap=0.71)
    # cap below the compute-phase hourly mean: the envelope stays at the hourly mean
    assert curve.peak == pytest.approx(curve.hourly_peak)
    assert curve.peak >= 0.79


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mean": 1.2}, "mean"),
        ({"mean": -0.1}, "mean"),
        ({"mean": 0.0}, "mean"),
        ({"swing_amplitude": -0.2}, "swing_amplitude"),
        ({"swing_amplitude": 1.5}, "swing_amplitude"),
        ({"swing_period_s": 0}, "swing_period_s"),
        ({"swing_period_s": 7200}, "swing_period_s"),
        ({"checkpoint_interval_h": 0}, "checkpoint_interval_h"),
        ({"checkpoint_interval_h": -4}, "checkpoint_interval_h"),
        ({"checkpoint_duration_h": 5.0}, "checkpoint_duration_h"),
        ({"checkpoint_dip": 1.1}, "checkpoint_dip"),
        ({"smoothing_cap": 0}, "smoothing_cap"),
        ({"smoothing_cap": 1.2}, "smoothing_cap"),
        ({"mean": 1.0}, "mean"),  # no room for the dips
        ({"mean": 0.2, "swing_amplitude": 0.8}, "swing_amplitude"),
        ({"hours": 0}, "hours"),
        ({"hours": 2.5}, "hours"),
    ],
)
def test_training_invalid_inputs_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        training_load(**kwargs)


def test_training_is_fast():
    start = time.perf_counter()
    for seed in range(20):
        training_load(seed=seed)
    assert (time.perf_counter() - start) / 20 < 0.05


# ----------------------------------------------------------------- inference

@pytest.mark.parametrize(("mean", "peak"), [(0.55, 0.85), (0.3, 0.5), (0.6, 0.6), (0.5, 1.0)])
def test_inference_mean_and_peak(mean, peak):
    curve = inference_load(mean=mean, peak=peak)
    _invariants(curve)
    assert curve.mean == pytest.approx(mean, abs=1e-12)
    assert curve.peak == pytest.approx(peak, abs=1e-12)
    np.testing.assert_array_equal(curve.envelope, curve.series)


def test_inference_diurnal_and_weekly_shape():
    curve = inference_load(peak_hour=14, weekend_level=0.8, start_weekday=0)
    days = curve.series[: 7 * 24].reshape(7, 24)
    assert (days[:5].argmax(axis=1) == 14).all()  # weekday maxima at 14:00
    assert days[5:].max() < days[:5].max()  # weekends lower
    # a time-zone offset shifts the curve: 14:00 local at UTC-5 is 19:00 UTC
    shifted = inference_load(utc_offset_h=-5, weekend_level=1.0)
    assert shifted.series[24:48].argmax() == 19
    # at weekend_level 1 every day is identical
    flat_week = inference_load(weekend_level=1.0).series[: 7 * 24].reshape(7, 24)
    np.testing.assert_allclose(flat_week, flat_week[[0]].repeat(7, axis=0))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mean": 0.9, "peak": 0.8}, "mean"),
        ({"mean": -0.1}, "mean"),
        ({"peak": 1.1}, "peak"),
        ({"weekend_level": 1.5}, "weekend_level"),
        ({"start_weekday": 7}, "start_weekday"),
        ({"mean": 0.1, "peak": 1.0}, "mean"),  # would need a negative trough
        ({"hours": -1}, "hours"),
    ],
)
def test_inference_invalid_inputs_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        inference_load(**kwargs)


# ----------------------------------------------------------------- mixing

def test_mix_is_share_weighted_and_peak_is_not_sum_of_peaks():
    train = training_load(mean=0.79)
    infer = inference_load(mean=0.55, peak=0.85)
    mix = mix_loads([train, infer], [0.7, 0.3])
    _invariants(mix)
    assert mix.mean == pytest.approx(0.7 * 0.79 + 0.3 * 0.55)
    np.testing.assert_allclose(mix.series, 0.7 * train.series + 0.3 * infer.series)
    expected_peak = (0.7 * train.envelope + 0.3 * infer.envelope).max()
    assert mix.peak == pytest.approx(expected_peak)
    assert mix.peak <= 0.7 * train.peak + 0.3 * infer.peak + 1e-12
    # a training dip hour that coincides with the inference peak keeps the mix below the
    # sum of peaks whenever the peaks do not line up
    offset = mix_loads([inference_load(peak_hour=2), inference_load(peak_hour=14)], [0.5, 0.5])
    assert offset.peak < 0.85 - 1e-3


def test_mix_single_curve_is_identity():
    curve = training_load(seed=2)
    mix = mix_loads([curve], [1.0])
    np.testing.assert_array_equal(mix.series, curve.series)
    assert mix.peak == curve.peak


@pytest.mark.parametrize(
    ("curves", "shares", "match"),
    [
        (2, [0.5, 0.4], "sum to 1"),
        (2, [1.2, -0.2], ">= 0"),
        (2, [1.0], "one per curve"),
        (0, [], "empty"),
    ],
)
def test_mix_invalid_shares(curves, shares, match):
    items = [training_load(hours=48), inference_load(hours=48)][:curves]
    with pytest.raises(ValueError, match=match):
        mix_loads(items, shares)


def test_mix_length_mismatch():
    with pytest.raises(ValueError, match="lengths"):
        mix_loads([training_load(hours=48), inference_load(hours=72)], [0.5, 0.5])


# ----------------------------------------------------------------- the container

def test_loadcurve_validates_and_is_read_only():
    with pytest.raises(ValueError, match="series"):
        LoadCurve(series=[0.5, 1.2])
    with pytest.raises(ValueError, match="envelope"):
        LoadCurve(series=[0.5, 0.6], envelope=[0.4, 0.6])
    with pytest.raises(ValueError, match="NaN"):
        LoadCurve(series=[0.5, np.nan])
    curve = LoadCurve(series=[0.2, 0.4])
    assert curve.peak == 0.4 and curve.mean == pytest.approx(0.3)
    with pytest.raises(ValueError):
        curve.series[0] = 1.0  # arrays are frozen too
