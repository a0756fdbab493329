"""MASE loss weights: a forecaster's training loss weighted as the metric that judges it."""

from __future__ import annotations

import numpy as np
import pytest

from gru_search.forecast_validation import mase
from gru_search.forecast_weights import (
    MAX_WEIGHT_OVER_MEDIAN,
    mase_window_weights,
    seasonal_naive_scale,
)
from gru_search.forecasting import ForecastWindows, GRUForecaster, SeriesScaler

SEASON, HORIZON, WINDOW = 12, 6, 24


def mixed_series(rng: np.random.Generator) -> list[np.ndarray]:
    """Series of very different levels, seasons and noise: their window scales, series
    scales and seasonal naive errors all differ."""
    wave = np.sin(2 * np.pi * np.arange(90) / SEASON)
    return [
        level + amplitude * wave + noise * rng.standard_normal(90).cumsum()
        for level, amplitude, noise in [(500, 50, 4.0), (10, 1, 1.0), (100, 0, 5.0), (0, 3, 0.5)]
    ]


@pytest.mark.parametrize("scaling", ["window", "standard", "robust"])
def test_weighted_scaled_errors_are_each_windows_mase(scaling):
    rng = np.random.default_rng(0)
    series = mixed_series(rng)
    windows = ForecastWindows(WINDOW, HORIZON, scale_windows=scaling == "window")
    scaler = SeriesScaler.fit(series, scaling)
    scaled = scaler.transform(series)
    _, targets = windows.training_rows(scaled)
    weights = mase_window_weights(series, scaler.scale, windows.window_scales(scaled), SEASON)
    forecasts = targets + rng.standard_normal(targets.shape)  # any errors, in model units
    weighted = weights * np.abs(forecasts - targets).mean(axis=1)

    # the same forecasts in each series' own units, scored by MASE window by window
    window_scales = np.concatenate(windows.window_scales(scaled))
    owner = np.repeat(np.arange(len(series)), [len(s) for s in windows.window_scales(scaled)])
    to_units = (window_scales * scaler.scale[owner])[:, None]
    per_window_mase = np.array(
        [
            mase(series[i], targets[row] * to_units[row], forecasts[row] * to_units[row], SEASON)
            for row, i in enumerate(owner)
        ]
    )
    assert weights.max() < MAX_WEIGHT_OVER_MEDIAN * np.median(weights)  # no cap here
    ratio = weighted / per_window_mase
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)  # one constant for all windows
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)


def test_a_constant_series_takes_the_median_factor_and_no_window_dominates():
    flat = np.full(60, 7.0)
    tiny_naive_error = 100 + np.sin(2 * np.pi * np.arange(60) / SEASON) * 20 + 1e-6 * np.arange(60)
    rng = np.random.default_rng(1)
    walks = [rng.standard_normal(60).cumsum() for _ in range(3)]
    series = [flat, tiny_naive_error, *walks]
    windows = ForecastWindows(WINDOW, HORIZON, scale_windows=True)
    scaler = SeriesScaler.fit(series, "window")
    per_series = windows.window_scales(series)
    weights = mase_window_weights(series, scaler.scale, per_series, SEASON)

    assert np.isnan(seasonal_naive_scale(flat, SEASON))
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    assert weights.max() <= MAX_WEIGHT_OVER_MEDIAN * np.median(weights) * (1 + 1e-5)
    # the seasonal series that seasonal naive forecasts almost perfectly is capped, not
    # a million times the others
    first = len(per_series[0])
    assert weights[first : first + len(per_series[1])].min() == pytest.approx(weights.max())


def test_mase_weighting_forecasts_the_series_that_seasonal_naive_finds_easy_better():
    """A strong clean season beside noisy walks: uniform weights spend the loss on the
    walks' large scaled errors; MASE weights on what MASE charges most, the season."""
    rng = np.random.default_rng(0)
    t = np.arange(120)
    season = 10 + 5 * np.sin(2 * np.pi * t / SEASON) + 0.05 * rng.standard_normal(120)
    walks = [rng.standard_normal(120).cumsum() for _ in range(5)]
    history = [season[:-HORIZON]] + [w[:-HORIZON] for w in walks]
    scores = {}
    for weighting in ("uniform", "mase"):
        forecaster = GRUForecaster(
            HORIZON,
            input_size=WINDOW,
            units=(8,),
            epochs=8,
            batch_size=32,
            learning_rate=0.01,
            season_length=SEASON,
            loss_weighting=weighting,
            jit_compile=False,
            random_state=0,
        ).fit(history)
        forecast = forecaster.predict()["y_hat"].to_numpy()[:HORIZON]
        scores[weighting] = mase(history[0], season[-HORIZON:], forecast, SEASON)
    assert scores["mase"] < 0.3 * scores["uniform"], scores  # 0.03-0.10 measured
