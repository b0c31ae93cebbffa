"""Year-axis helpers shared by the model's builders and the lever modules.

Column positions are int arrays over the model's axes with the year last (-1 where no
column exists); these helpers look along that last axis.
"""

from __future__ import annotations

import numpy as np


def shift(pos: np.ndarray, lag) -> np.ndarray:
    """``pos`` of year t - lag at year t (-1 before the horizon); ``lag`` may vary by chip."""
    out = np.full(pos.shape, -1, dtype=np.int64)
    lags = np.broadcast_to(np.asarray(lag, dtype=int), pos.shape[:-1] + (1,))
    for value in np.unique(lags):
        if value <= 0:
            out = np.where(lags == value, pos, out)
            continue
        if value >= pos.shape[-1]:
            continue
        shifted = np.full(pos.shape, -1, dtype=np.int64)
        shifted[..., value:] = pos[..., :-value]
        out = np.where(lags == value, shifted, out)
    return out


def add_monotone(b, name: str, dims: tuple[str, ...], pos: np.ndarray) -> None:
    """Rows ``x_t >= x_{t-1}`` for a cumulative variable family (where both years exist)."""
    prev = shift(pos, 1)
    r = b.m.add_rows(name, dims, (pos >= 0) & (prev >= 0), "ge", 0.0)
    b.m.terms(r, pos, 1.0)
    b.m.terms(r, prev, -1.0)


def next_year(pos: np.ndarray) -> np.ndarray:
    """``pos`` of year t+1 at year t (-1 in the last year)."""
    out = np.full(pos.shape, -1, dtype=np.int64)
    out[..., :-1] = pos[..., 1:]
    return out


def drop_next(factor: np.ndarray) -> np.ndarray:
    """``f_t - f_{t+1}`` (with ``f_{T+1} = 0``): the cost of a cumulative column at year t."""
    nxt = np.concatenate([factor[..., 1:], np.zeros(factor.shape[:-1] + (1,))], axis=-1)
    return factor - nxt
