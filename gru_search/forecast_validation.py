"""Rolling-origin (expanding window) validation of forecasts, and their errors.

A forecast is judged on values it has not seen: every *window* cuts each series at an
origin, trains on everything before it and forecasts the ``horizon`` values after it.
``n_windows`` origins ``step_size`` apart end at the series' end (the last window's
future is each series' last ``horizon`` values); never a random split, which would let
a model read the future it forecasts.

Errors are scale-free so that series of any level count alike: MASE (the mean absolute
error over the in-sample mean absolute error of the seasonal naive forecast, as in the M
competitions) and sMAPE (in %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gru_search.forecast_weights import seasonal_naive_scale
from gru_search.forecasting import ForecastDataError, SeriesSet

#: Errors a forecasting search can minimise.
FORECAST_METRICS = ("mase", "smape")


@dataclass(frozen=True)
class ForecastWindow:
    """One origin: the series up to it (``history``) and the values after it (``actuals``).

    ``held_out`` is how many values of every series lie after the origin; ``series``
    the whole series (whose held-out rows give future covariates).
    """

    held_out: int
    history: SeriesSet
    actuals: tuple[np.ndarray, ...]
    series: SeriesSet | None = None

    def future_covariates(self, columns: Sequence[str]) -> tuple[np.ndarray, ...] | None:
        """The named covariates over the window's horizon, one array per series (None
        without columns)."""
        if not columns or self.series is None:
            return None
        horizon = len(self.actuals[0])
        return self.series.future_covariates(self.held_out, horizon, columns)


def rolling_origin(
    series: SeriesSet,
    horizon: int,
    *,
    n_windows: int = 1,
    step_size: int | None = None,
    min_history: int = 1,
    too_short: str = "error",
) -> list[ForecastWindow]:
    """The ``n_windows`` validation windows, the latest origin last.

    Parameters
    ----------
    series : SeriesSet
    horizon : int
        Values forecast after every origin.
    n_windows : int, default=1
    step_size : int, optional
        Steps between consecutive origins (default ``horizon``: windows that do not
        overlap).
    min_history : int, default=1
        Values every series needs before the earliest origin (a model's window plus its
        horizon, to train at all).
    too_short : {"error", "skip"}, default="error"
        What a series too short for the earliest origin does: raise, or stay out of
        every window (the windows then hold the other series only, in their order).

    Raises
    ------
    ForecastDataError
        When a series is too short for the earliest origin (``too_short="error"``) or
        every series is (``"skip"``); the message names the first.
    """
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1, got {n_windows}")
    step = horizon if step_size is None else step_size
    if step < 1:
        raise ValueError(f"step_size must be at least 1, got {step_size}")
    if too_short not in ("error", "skip"):
        raise ValueError(f"too_short must be 'error' or 'skip', got {too_short!r}")
    furthest = horizon + step * (n_windows - 1)
    needed = furthest + min_history
    long_enough = [i for i, v in enumerate(series.values) if len(v) >= needed]
    short = [i for i, v in enumerate(series.values) if len(v) < needed]
    if short and (too_short == "error" or not long_enough):
        first = short[0]
        every = "" if long_enough else "every series is too short: "
        raise ForecastDataError(
            f"{every}series {series.ids[first]!r} has {len(series.values[first])} values; "
            f"{n_windows} validation window(s) of horizon {horizon}, {step} step(s) apart, "
            f"need {furthest} of them held out plus at least {min_history} to train on (use "
            "fewer windows, a shorter window, or drop the series)"
        )
    if short:
        series = series.take(long_enough)
    windows = []
    for index in reversed(range(n_windows)):
        held_out = horizon + step * index
        windows.append(
            ForecastWindow(held_out, series.head(held_out), series.tails(held_out, horizon), series)
        )
    return windows


def mase(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray, season: int) -> float:
    """Mean absolute scaled error of one series' forecast.

    The scale is the in-sample mean absolute error of the seasonal naive forecast (lag
    ``season``; lag 1 when the history is not longer than a season). NaN when that scale
    is 0 (a constant history).
    """
    scale = seasonal_naive_scale(history, season)
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error of one series' forecast, in % (0-200)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.where(
        denominator > 0, 2 * np.abs(actual - forecast) / np.maximum(denominator, 1e-300), 0.0
    )
    return float(100 * np.mean(ratio))


def forecast_error(
    metric: str,
    histories: Sequence[np.ndarray],
    actuals: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    season: int,
) -> float:
    """Mean ``metric`` (``"mase"`` or ``"smape"``) over series; series with no MASE scale
    (constant histories) are left out of the mean."""
    if metric == "mase":
        values = [
            mase(h, a, f, season) for h, a, f in zip(histories, actuals, forecasts, strict=True)
        ]
    elif metric == "smape":
        values = [smape(a, f) for a, f in zip(actuals, forecasts, strict=True)]
    else:
        raise ValueError(
            f"unknown metric {metric!r}; expected one of {', '.join(FORECAST_METRICS)}"
        )
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def forecasts_by_series(frame: pd.DataFrame, n_series: int, horizon: int) -> list[np.ndarray]:
    """``y_hat`` of a :meth:`GRUForecaster.predict` frame (series in order, ``horizon``
    rows each) as one array per series."""
    values = frame["y_hat"].to_numpy(dtype=float)
    if len(values) != n_series * horizon:
        raise ValueError(f"expected {n_series * horizon} forecasts, got {len(values)}")
    return list(values.reshape(n_series, horizon))


__all__ = [
    "FORECAST_METRICS",
    "ForecastWindow",
    "forecast_error",
    "forecasts_by_series",
    "mase",
    "rolling_origin",
    "smape",
]
