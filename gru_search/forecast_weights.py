"""Loss weights that make a forecaster's training loss the metric it is judged by.

A :class:`~gru_search.forecasting.GRUForecaster` learns on scaled values: every window is
standardised by its own past (``scaling="window"``) or every series by its history. An
absolute error of 1 in those units is a different error in the series' own units from
window to window, and MASE, the competitions' metric and the search's score, divides each
series' error by yet another number: the in-sample mean absolute error of the seasonal
naive forecast. Weighting every window's loss by ``series scale x window scale / that
naive error`` makes the training loss each window's MASE (up to one constant). Without it
a series whose windows swing widely (a strong season) but that seasonal naive already
forecasts well is under-weighted for what it costs in MASE.

On M3 monthly (one network, 30 epochs, seed 0; benchmarks/RESULTS.md) it moved the MASE
from 0.955 to 0.915.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: No window weighs more than this many times the median window, so that one
#: near-constant series (a tiny naive error) cannot take over the loss.
MAX_WEIGHT_OVER_MEDIAN = 20.0


def seasonal_naive_scale(history: np.ndarray, season: int) -> float:
    """The in-sample mean absolute error of the seasonal naive forecast (MASE's scale).

    Lag ``season``, or lag 1 when the history is not longer than a season; NaN when the
    history is too short for either or the error is 0 (a constant history).
    """
    history = np.asarray(history, dtype=np.float64)
    lag = season if len(history) > season else 1
    if len(history) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
    return scale if scale > 0 else float("nan")


def mase_window_weights(
    series: Sequence[np.ndarray],
    series_scales: np.ndarray,
    window_scales: Sequence[np.ndarray],
    season: int,
) -> np.ndarray:
    """Per-window loss weights that turn a scaled absolute error into MASE.

    Parameters
    ----------
    series : sequence of 1-D ndarray
        The training series, unscaled.
    series_scales : ndarray of shape (n_series,)
        What each series was divided by before windowing (1 for window scaling).
    window_scales : sequence of 1-D ndarray
        For each series, what each of its training windows was divided by (1 without
        window scaling), in the order of the training rows.
    season : int
        The season of the seasonal naive error (MASE's scale).

    Returns
    -------
    ndarray of shape (n_windows,)
        float32 weights with mean 1, in the order of the training rows. A series without a
        naive error (constant, or too short) takes the median series' factor; no weight is
        above :data:`MAX_WEIGHT_OVER_MEDIAN` times the median.
    """
    naive = np.array([seasonal_naive_scale(values, season) for values in series])
    factors = np.asarray(series_scales, dtype=np.float64) / naive
    known = np.isfinite(factors)
    factors = np.where(known, factors, np.median(factors[known]) if known.any() else 1.0)
    weights = np.concatenate(
        [factor * np.asarray(scales) for factor, scales in zip(factors, window_scales, strict=True)]
    )
    weights = np.minimum(weights, MAX_WEIGHT_OVER_MEDIAN * np.median(weights))
    return (weights / weights.mean()).astype(np.float32)


__all__ = ["MAX_WEIGHT_OVER_MEDIAN", "mase_window_weights", "seasonal_naive_scale"]
