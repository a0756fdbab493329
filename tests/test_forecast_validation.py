"""Rolling-origin windows and the scale-free forecast errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gru_search.forecast_validation import forecast_error, mase, rolling_origin, smape
from gru_search.forecasting import ForecastDataError, check_series


def two_series(lengths=(20, 30)):
    return check_series([np.arange(float(n)) + 100 * i for i, n in enumerate(lengths)])


def test_windows_end_at_the_series_end_latest_last_and_never_look_ahead():
    series = two_series()
    windows = rolling_origin(series, horizon=3, n_windows=3, step_size=2)
    assert [w.held_out for w in windows] == [7, 5, 3]  # the latest origin last
    for window in windows:
        for full, history, actual in zip(
            series.values, window.history.values, window.actuals, strict=True
        ):
            assert len(history) == len(full) - window.held_out
            # the actuals are the 3 values right after the origin, none seen in training
            np.testing.assert_array_equal(actual, full[len(history) : len(history) + 3])
            assert history.max() < actual.min()
    np.testing.assert_array_equal(windows[-1].actuals[1], series.values[1][-3:])


def test_the_default_step_is_the_horizon():
    windows = rolling_origin(two_series(), horizon=4, n_windows=2)
    assert [w.held_out for w in windows] == [8, 4]


def test_a_series_too_short_for_the_earliest_window_is_named():
    series = check_series(
        pd.DataFrame(
            {
                "unique_id": ["long"] * 30 + ["tiny"] * 8,
                "ds": [*range(30), *range(8)],
                "y": np.arange(38.0),
            }
        )
    )
    with pytest.raises(ForecastDataError, match=r"series 'tiny' has 8 values; 2 validation"):
        rolling_origin(series, horizon=3, n_windows=2, step_size=3, min_history=4)
    assert len(rolling_origin(series, horizon=3, n_windows=1, min_history=4)) == 1
    # skipped instead: every window holds the long series only
    windows = rolling_origin(
        series, horizon=3, n_windows=2, step_size=3, min_history=4, too_short="skip"
    )
    assert [w.history.ids for w in windows] == [("long",), ("long",)]
    assert [len(w.history.values[0]) for w in windows] == [24, 27]
    with pytest.raises(ForecastDataError, match="every series is too short: series 'long'"):
        rolling_origin(series, horizon=3, n_windows=9, min_history=4, too_short="skip")


@pytest.mark.parametrize(("n_windows", "step"), [(0, None), (1, 0)])
def test_bad_window_settings_are_refused(n_windows, step):
    with pytest.raises(ValueError, match="must be at least 1"):
        rolling_origin(two_series(), horizon=2, n_windows=n_windows, step_size=step)


def test_mase_scales_by_the_in_sample_seasonal_naive_error():
    history = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])  # lag-3 differences: 4, 4, 4
    assert mase(history, np.array([10.0, 10.0]), np.array([12.0, 6.0]), season=3) == 0.75
    # a history not longer than a season falls back to lag 1 (differences 1, 1, 2, 1, 1)
    assert mase(history, np.array([1.0]), np.array([2.2]), season=12) == pytest.approx(1.0)
    assert np.isnan(mase(np.ones(5), np.ones(2), np.zeros(2), season=1))  # no scale


def test_smape_is_symmetric_percent_and_zero_for_zero_pairs():
    assert smape(np.array([100.0]), np.array([50.0])) == pytest.approx(200 * 50 / 150)
    assert smape(np.array([50.0]), np.array([100.0])) == smape(np.array([100.0]), [50.0])
    assert smape(np.array([0.0, 10.0]), np.array([0.0, 10.0])) == 0.0


def test_forecast_error_leaves_series_without_a_scale_out_of_the_mean():
    histories = [np.array([0.0, 1.0, 2.0]), np.ones(3)]
    actuals = [np.array([3.0]), np.array([1.0])]
    forecasts = [np.array([5.0]), np.array([9.0])]
    assert forecast_error("mase", histories, actuals, forecasts, season=1) == 2.0
    assert forecast_error("smape", histories, actuals, forecasts, season=1) == pytest.approx(
        np.mean([200 * 2 / 8, 200 * 8 / 10])
    )
    with pytest.raises(ValueError, match="unknown metric 'rmse'"):
        forecast_error("rmse", histories, actuals, forecasts, season=1)
