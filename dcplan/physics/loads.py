r"""Hourly IT load curves of AI fleets, as fractions of nameplate IT power.

A :class:`LoadCurve` holds two hourly arrays over a typical year (8,760 h by default):

``series``
    the hourly *mean* IT power / nameplate (what energy, PUE and water integrate);
``envelope``
    the highest IT power / nameplate reached *within* each hour (what the electrical
    chain and the grid interconnect must carry).

They differ for training: synchronous data-parallel jobs alternate, every iteration
(seconds), between a compute phase near full power and a communication phase at much
lower power, all GPUs in step [1]_, [2]_. An hourly mean cannot show that, so the
envelope adds half the peak-to-trough swing to the hourly mean, capped at nameplate,
or at a power-smoothing cap where rack energy storage flattens the swing (GB300 NVL72:
peak grid demand lower by up to 30 % [3]_). Inference has no synchronous swing at
this scale; its shape is diurnal and weekly [4]_, [5]_ and its envelope is its series.

References
----------
.. [1] E. Choukse et al., "Power Stabilization for AI Training Datacenters",
   arXiv:2508.14318, 2025.
.. [2] Meta, "The Llama 3 Herd of Models", arXiv:2407.21783, 2024 (tens-of-MW swings,
   checkpoint and collective steps on 16k-GPU jobs).
.. [3] NVIDIA Technical Blog, "How New GB300 NVL72 Features Provide Steady Power for
   AI", 2025.
.. [4] P. Patel et al., "POLCA: Power Oversubscription in LLM Cloud Providers",
   arXiv:2308.12908, 2023.
.. [5] J. Stojkovic et al., "DynamoLLM", HPCA 2025 (diurnal and weekly inference load).
.. [6] I. Latif et al., "Empirical Measurements of AI Training Power Demand on a GPU-
   Accelerated Node", arXiv:2506.14551, 2025 (HGX H100 at ~76-82 % of its 10.2 kW).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_SMOOTHING_CAP",
    "HOURS_PER_YEAR",
    "MAX_SMOOTHING_REDUCTION",
    "LoadCurve",
    "inference_load",
    "mix_loads",
    "training_load",
]

HOURS_PER_YEAR = 8760

#: Largest peak reduction that rack power smoothing is credited with (NVIDIA [3]_).
MAX_SMOOTHING_REDUCTION = 0.30

#: Within-hour peak cap / nameplate used for systems with power smoothing (GB300 NVL72).
#: **Assumption**: 0.85 credits half of NVIDIA's "up to 30 %" off a nameplate peak
#: [3]_; being >= 0.7 it is valid for any unsmoothed peak <= 1.
DEFAULT_SMOOTHING_CAP = 0.85

_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class LoadCurve:
    """Hourly IT load as fractions of nameplate IT power.

    Parameters
    ----------
    series : array_like
        Hourly mean IT power / nameplate, each in [0, 1]. [unitless]
    envelope : array_like, optional
        Highest IT power / nameplate within each hour, >= ``series`` and <= 1.
        Defaults to ``series`` (no within-hour swing). [unitless]
    kind : str
        Label: ``"training"``, ``"inference"``, ``"mix"`` or free text.

    Attributes
    ----------
    mean : float
        Mean of ``series``. [unitless]
    peak : float
        Maximum of ``envelope``: the design peak. [unitless]
    trough : float
        Minimum of ``series``. [unitless]
    hourly_peak : float
        Maximum of ``series``. [unitless]
    """

    series: np.ndarray
    envelope: np.ndarray | None = None
    kind: str = "custom"

    def __post_init__(self) -> None:
        series = np.array(self.series, dtype=float).ravel()
        envelope = series.copy() if self.envelope is None else np.array(
            self.envelope, dtype=float).ravel()
        if series.size == 0:
            raise ValueError("series is empty; give at least one hourly value")
        if envelope.shape != series.shape:
            msg = f"envelope has {envelope.size} values but series has {series.size}"
            raise ValueError(msg)
        for name, values in (("series", series), ("envelope", envelope)):
            if not np.isfinite(values).all():
                raise ValueError(f"{name} contains NaN or infinite values")
            if values.min() < -_TOL or values.max() > 1 + _TOL:
                msg = (f"{name} must lie in [0, 1] (fractions of nameplate), got range "
                       f"[{values.min():.4g}, {values.max():.4g}]")
                raise ValueError(msg)
        if (envelope < series - _TOL).any():
            raise ValueError("envelope is below series in some hours; it must be >= series")
        series = np.clip(series, 0.0, 1.0)
        envelope = np.clip(np.maximum(envelope, series), 0.0, 1.0)
        series.flags.writeable = False
        envelope.flags.writeable = False
        object.__setattr__(self, "series", series)
        object.__setattr__(self, "envelope", envelope)

    @property
    def hours(self) -> int:
        """Number of hourly values."""
        return self.series.size

    @property
    def mean(self) -> float:
        """Mean IT power / nameplate over the curve. [unitless]"""
        return float(self.series.mean())

    @property
    def peak(self) -> float:
        """Highest within-hour IT power / nameplate. [unitless]"""
        return float(self.envelope.max())

    @property
    def hourly_peak(self) -> float:
        """Highest hourly mean IT power / nameplate. [unitless]"""
        return float(self.series.max())

    @property
    def trough(self) -> float:
        """Lowest hourly mean IT power / nameplate. [unitless]"""
        return float(self.series.min())

    def __repr__(self) -> str:
        return (f"LoadCurve(kind={self.kind!r}, hours={self.hours}, mean={self.mean:.3f}, "
                f"peak={self.peak:.3f}, trough={self.trough:.3f})")


def _fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0,
              open_low: bool = False) -> float:
    value = float(value)
    ok = (value > low if open_low else value >= low) and value <= high and np.isfinite(value)
    if not ok:
        bracket = "(" if open_low else "["
        msg = f"{name} must lie in {bracket}{low:g}, {high:g}], got {value!r}"
        raise ValueError(msg)
    return value


def _hours(hours: int) -> int:
    if int(hours) != hours or hours < 1:
        raise ValueError(f"hours must be a positive whole number, got {hours!r}")
    return int(hours)


def _checkpoint_overlap(hours: int, interval_h: float, duration_h: float,
                        phase_h: float) -> np.ndarray:
    """Fraction of each hour spent checkpointing, for checkpoints at phase + k*interval."""
    # D(t): checkpoint time elapsed in [0, t); per-hour overlap is D(h+1) - D(h).
    t = np.arange(hours + 1, dtype=float) - phase_h
    n = np.floor(t / interval_h)
    inside = np.minimum(t - n * interval_h, duration_h)
    cumulative = np.where(t >= 0, n * duration_h + inside, 0.0)
    return np.diff(cumulative)


def training_load(
    hours: int = HOURS_PER_YEAR,
    mean: float = 0.79,
    swing_amplitude: float = 0.5,
    swing_period_s: float = 2.0,
    checkpoint_interval_h: float | None = 4.0,
    checkpoint_dip: float = 0.6,
    checkpoint_duration_h: float = 0.1,
    smoothing_cap: float | None = None,
    seed: int = 0,
) -> LoadCurve:
    r"""Hourly load curve of a large synchronous training job.

    Parameters
    ----------
    hours : int, default 8760
        Length of the curve. [h]
    mean : float, default 0.79
        Mean IT power / nameplate over the curve. Default inside the 0.76-0.82 measured
        on HGX H100 nodes during training [6]_. [unitless]
    swing_amplitude : float, default 0.5
        Peak-to-trough swing between compute and communication phases / nameplate.
        0.5 of nameplate is 63 % of the default mean load, meeting the ">= 50 % of IT
        load without smoothing" the planning team takes from [1]_, [2]_. [unitless]
    swing_period_s : float, default 2.0
        Iteration period of the swing, kept on the curve's description only (hourly
        values cannot resolve it); must be < 3600 s. Assumption. [s]
    checkpoint_interval_h : float or None, default 4.0
        Hours between checkpoints; ``None`` disables checkpoint dips. Assumption. [h]
    checkpoint_dip : float, default 0.6
        Drop of IT power / nameplate while a checkpoint is written (GPUs idle on I/O).
        Assumption consistent with "near-full load drops" in [2]_. A dip deeper than
        the compute-phase load stops at zero load. [unitless]
    checkpoint_duration_h : float, default 0.1
        Length of each checkpoint (6 min). Assumption. [h]
    smoothing_cap : float or None, default None
        Within-hour peak cap / nameplate from rack energy storage and power floors
        (GB300 NVL72 power smoothing). It cannot lower the peak by more than 30 % [3]_
        nor below the hourly mean. [unitless]
    seed : int, default 0
        Seeds the phase of the first checkpoint; equal seeds give equal curves.

    Returns
    -------
    LoadCurve
        ``series`` (hourly means, mean equal to ``mean``) and ``envelope``.

    Raises
    ------
    ValueError
        If a parameter is out of range (the message names it), if ``mean`` is too high
        to leave room for the checkpoint dips (or a checkpoint lasts all the time), if
        the swing would go below zero, or if
        ``smoothing_cap`` asks for more than a 30 % peak reduction.

    Notes
    -----
    With :math:`o_h` the fraction of hour :math:`h` spent checkpointing, :math:`d` the
    dip, :math:`s` the swing and :math:`c` the cap (1 without smoothing):

    .. math::

        b = \bar{p} + d\,\overline{o}, \qquad p_h = b - d\,o_h

        e_h = \begin{cases} \min(c,\ \max(p_h,\ \min(1,\ b + s/2))) & o_h < 1 \\
              p_h & o_h = 1 \end{cases}

    so the series mean is exactly :math:`\bar p`, compute phases peak at
    :math:`b + s/2` and the envelope never falls below the hourly mean.

    Examples
    --------
    >>> curve = training_load()
    >>> round(curve.mean, 3), curve.peak
    (0.79, 1.0)
    """
    hours = _hours(hours)
    mean = _fraction("mean", mean, open_low=True)
    swing = _fraction("swing_amplitude", swing_amplitude)
    if not (0 < float(swing_period_s) < 3600):
        msg = f"swing_period_s must lie in (0, 3600) s (a sub-hour swing), got {swing_period_s!r}"
        raise ValueError(msg)
    dip = _fraction("checkpoint_dip", checkpoint_dip)
    if checkpoint_interval_h is None or dip == 0:
        overlap = np.zeros(hours)
    else:
        interval = float(checkpoint_interval_h)
        if not (np.isfinite(interval) and interval > 0):
            msg = f"checkpoint_interval_h must be > 0 h, got {checkpoint_interval_h!r}"
            raise ValueError(msg)
        duration = float(checkpoint_duration_h)
        if not (0 <= duration <= interval):
            msg = (f"checkpoint_duration_h must lie in [0, checkpoint_interval_h="
                   f"{interval:g}] h, got {checkpoint_duration_h!r}")
            raise ValueError(msg)
        phase = np.random.default_rng(seed).uniform(0.0, interval)
        overlap = _checkpoint_overlap(hours, interval, duration, phase)

    if overlap.mean() > 1 - _TOL and dip > 0:
        msg = ("checkpoint_duration_h equals checkpoint_interval_h: the job would always be "
               "checkpointing; shorten checkpoint_duration_h")
        raise ValueError(msg)
    base = mean + dip * overlap.mean()
    if dip > base:
        # a dip deeper than the load itself stops at zero: solve base = mean + base * o
        base = mean / (1 - overlap.mean())
        dip = base
    if base > 1 + _TOL:
        msg = (f"mean={mean:g} leaves no room for checkpoint dips (compute-phase mean would "
               f"be {base:.3f} > 1); lower mean, checkpoint_dip or checkpoint_duration_h")
        raise ValueError(msg)
    if swing / 2 > base + _TOL:
        msg = (f"swing_amplitude={swing:g} would swing below zero around the mean load "
               f"{base:.3f}; use swing_amplitude <= {2 * base:.3f}")
        raise ValueError(msg)

    series = base - dip * overlap
    compute_peak = min(1.0, base + swing / 2)
    envelope = np.where(overlap < 1 - _TOL, np.maximum(series, compute_peak), series)
    if smoothing_cap is not None:
        cap = _fraction("smoothing_cap", smoothing_cap, open_low=True)
        floor = (1 - MAX_SMOOTHING_REDUCTION) * envelope.max()
        if cap < floor - _TOL:
            msg = (f"smoothing_cap={cap:g} would cut the peak {envelope.max():.3f} by more "
                   f"than {MAX_SMOOTHING_REDUCTION:.0%}, beyond what rack power smoothing "
                   f"is credited with (NVIDIA GB300); use smoothing_cap >= {floor:.3f}")
            raise ValueError(msg)
        # storage flattens the within-hour swing; it cannot shave the hourly energy
        envelope = np.minimum(envelope, np.maximum(cap, series))
    return LoadCurve(series=series, envelope=envelope, kind="training")


def inference_load(
    hours: int = HOURS_PER_YEAR,
    mean: float = 0.55,
    peak: float = 0.85,
    peak_hour: float = 14.0,
    weekend_level: float = 0.85,
    utc_offset_h: float = 0.0,
    start_weekday: int = 0,
) -> LoadCurve:
    r"""Hourly load curve of an inference fleet with a diurnal and weekly shape.

    Parameters
    ----------
    hours : int, default 8760
        Length of the curve; hour 0 is 00:00 UTC of the first day. [h]
    mean : float, default 0.55
        Mean IT power / nameplate. **Assumption**: no trustworthy public figure exists;
        inference runs well below training and nameplate [4]_. [unitless]
    peak : float, default 0.85
        Highest hourly IT power / nameplate; sets the diurnal amplitude. **Assumption**
        (the public record has no peak/trough ratio for inference). [unitless]
    peak_hour : float, default 14.0
        Local hour of the daily maximum. Assumption. [h]
    weekend_level : float, default 0.85
        Height of the daily swing on Saturdays and Sundays relative to weekdays, in
        [0, 1]; Azure LLM traces show weekly variation [5]_. Assumption. [unitless]
    utc_offset_h : float, default 0
        Local time minus UTC. [h]
    start_weekday : int, default 0
        Weekday of hour 0 (0 = Monday ... 6 = Sunday).

    Returns
    -------
    LoadCurve
        ``series`` with mean ``mean`` and maximum ``peak``; ``envelope`` equals
        ``series``.

    Raises
    ------
    ValueError
        If ``mean > peak``, a fraction lies outside [0, 1], or the shape would need
        negative load to reach ``peak`` at that ``mean``.

    Notes
    -----
    The shape is :math:`f_h = w_h \, (1 + \cos(2\pi (t_h - t_{peak})/24))/2` with
    :math:`w_h` = 1 on weekdays and ``weekend_level`` at weekends; it is mapped affinely
    to the requested mean and peak:

    .. math:: p_h = \bar p + (p_{max} - \bar p)\,(f_h - \bar f)/(\max f - \bar f)

    Examples
    --------
    >>> curve = inference_load(mean=0.5, peak=0.8)
    >>> round(curve.mean, 6), round(curve.peak, 6)
    (0.5, 0.8)
    """
    hours = _hours(hours)
    mean = _fraction("mean", mean)
    peak = _fraction("peak", peak)
    if mean > peak + _TOL:
        raise ValueError(f"mean={mean:g} exceeds peak={peak:g}; the peak must be >= the mean")
    weekend = _fraction("weekend_level", weekend_level)
    if int(start_weekday) != start_weekday or not 0 <= start_weekday <= 6:
        raise ValueError(f"start_weekday must be 0 (Monday) .. 6, got {start_weekday!r}")
    if not np.isfinite(peak_hour) or not np.isfinite(utc_offset_h):
        raise ValueError("peak_hour and utc_offset_h must be finite numbers of hours")

    local = np.arange(hours, dtype=float) + float(utc_offset_h)
    day = np.floor(local / 24.0) + start_weekday
    weekday = np.mod(day, 7)
    level = np.where(weekday >= 5, weekend, 1.0)
    shape = level * 0.5 * (1 + np.cos(2 * np.pi * (local - float(peak_hour)) / 24.0))
    spread = shape.max() - shape.mean()
    if peak - mean <= _TOL or spread <= _TOL:
        series = np.full(hours, mean)
        if peak - mean > _TOL:
            msg = "the curve is too short to have a daily shape; give hours >= 2"
            raise ValueError(msg)
    else:
        series = mean + (peak - mean) * (shape - shape.mean()) / spread
    if series.min() < -_TOL:
        msg = (f"mean={mean:g} with peak={peak:g} would need a negative trough "
               f"({series.min():.3f}) for this daily shape; raise mean or lower peak")
        raise ValueError(msg)
    return LoadCurve(series=np.clip(series, 0.0, 1.0), kind="inference")


def mix_loads(curves: Sequence[LoadCurve], shares: Sequence[float]) -> LoadCurve:
    r"""Share-weighted mix of load curves (e.g. 70 % training, 30 % inference).

    Parameters
    ----------
    curves : sequence of LoadCurve
        Curves of equal length.
    shares : sequence of float
        Share of nameplate capacity running each curve; non-negative, summing to 1.
        [unitless]

    Returns
    -------
    LoadCurve
        ``series`` and ``envelope`` are the share-weighted sums hour by hour, so the
        mix's peak is the highest weighted envelope, not the sum of the peaks (peaks
        at different hours do not add).

    Notes
    -----
    .. math:: p_h = \sum_i w_i\,p_{i,h}, \qquad e_h = \sum_i w_i\,e_{i,h}

    Examples
    --------
    >>> mix = mix_loads([training_load(), inference_load()], [0.7, 0.3])
    >>> round(mix.mean, 3)
    0.718
    """
    curves = list(curves)
    weights = np.asarray(shares, dtype=float).ravel()
    if not curves:
        raise ValueError("curves is empty; give at least one LoadCurve")
    if not all(isinstance(c, LoadCurve) for c in curves):
        raise ValueError("curves must all be LoadCurve objects")
    if weights.size != len(curves):
        msg = f"shares has {weights.size} values for {len(curves)} curves; give one per curve"
        raise ValueError(msg)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"shares must be finite and >= 0, got {weights.tolist()}")
    if abs(weights.sum() - 1.0) > 1e-6:
        raise ValueError(f"shares must sum to 1, got {weights.tolist()} (sum {weights.sum():g})")
    lengths = {c.hours for c in curves}
    if len(lengths) != 1:
        raise ValueError(f"curves have different lengths {sorted(lengths)}; give equal hours")
    series = weights @ np.stack([c.series for c in curves])
    envelope = weights @ np.stack([c.envelope for c in curves])
    return LoadCurve(series=series, envelope=envelope, kind="mix")
