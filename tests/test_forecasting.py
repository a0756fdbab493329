"""GRUForecaster: a global GRU over many series, direct multi-step, per-series scaling."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from gru_search.forecasting import ForecastDataError, GRUForecaster, check_series

PERIOD, HORIZON = 12, 6


def seasonal_table(n_series: int = 12, length: int = 72, start: str | None = None) -> pd.DataFrame:
    """Monthly-like series: each its own level, amplitude and phase of one season."""
    rng = np.random.default_rng(0)
    rows = []
    for index in range(n_series):
        level, amplitude = rng.uniform(10, 100), rng.uniform(1, 10)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(length)
        values = level + amplitude * np.sin(2 * np.pi * t / PERIOD + phase)
        stamps = t if start is None else pd.date_range(start, periods=length, freq="MS")
        rows.append(pd.DataFrame({"unique_id": f"s{index}", "ds": stamps, "y": values}))
    return pd.concat(rows, ignore_index=True)


def small_forecaster(**params) -> GRUForecaster:
    defaults = dict(
        horizon=HORIZON,
        input_size=2 * PERIOD,
        units=(16,),
        epochs=40,
        batch_size=16,
        learning_rate=0.01,
        jit_compile=False,
        random_state=0,
    )
    return GRUForecaster(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted_on_history():
    table = seasonal_table()
    history = table.groupby("unique_id").head(72 - HORIZON)
    future = table.groupby("unique_id").tail(HORIZON)
    return small_forecaster().fit(history), history, future


def test_one_model_forecasts_many_seasonal_series_better_than_the_last_value(fitted_on_history):
    forecaster, history, future = fitted_on_history
    forecast = forecaster.predict()
    merged = future.merge(forecast, on=["unique_id", "ds"])
    assert len(merged) == len(future)  # every future step, at the right time stamps
    model_error = np.abs(merged["y"] - merged["y_hat"]).mean()
    last_value = history.groupby("unique_id")["y"].last()
    naive_error = np.abs(merged["y"] - merged["unique_id"].map(last_value)).mean()
    assert model_error < 0.5 * naive_error, (model_error, naive_error)


def test_forecasts_follow_each_series_scale(fitted_on_history):
    # standard per-series scaling: a series shifted and stretched gets the same forecast,
    # shifted and stretched (the model sees the same scaled window)
    forecaster, history, _ = fitted_on_history
    one = history[history["unique_id"] == "s3"]
    moved = one.assign(unique_id="moved", y=one["y"] * 1000 + 5)
    both = forecaster.predict(pd.concat([one, moved]))
    base = both[both["unique_id"] == "s3"]["y_hat"].to_numpy()
    scaled = both[both["unique_id"] == "moved"]["y_hat"].to_numpy()
    np.testing.assert_allclose(scaled, base * 1000 + 5, rtol=1e-4)


def test_dates_continue_at_each_series_frequency():
    table = seasonal_table(n_series=3, length=40, start="2020-01-01")
    forecaster = small_forecaster(epochs=1).fit(table)
    forecast = forecaster.predict()
    assert list(forecast.columns) == ["unique_id", "ds", "y_hat"]
    first = forecast[forecast["unique_id"] == "s0"]["ds"]
    assert list(first) == list(pd.date_range("2023-05-01", periods=HORIZON, freq="MS"))


def test_a_list_of_arrays_is_series_with_integer_time_stamps():
    series = [np.sin(np.arange(30) / 3), np.cos(np.arange(45) / 3)]
    forecast = small_forecaster(epochs=1, input_size="auto").fit(series).predict()
    assert list(forecast["unique_id"]) == [0] * HORIZON + [1] * HORIZON
    assert list(forecast["ds"]) == list(range(30, 36)) + list(range(45, 51))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: pd.concat([t, t.iloc[[5]]]),
            r"series 's0' has more than one row at ds = 5",
        ),
        (lambda t: t.drop(index=7), r"series 's0' has irregular time stamps: a step of 2 after 6"),
        (
            lambda t: t.assign(y=t["y"].where(t.index != 9)),
            r"series 's0' has a missing or non-numeric y at ds = 9",
        ),
        (
            lambda t: t[(t["unique_id"] != "s1") | (t["ds"] < 20)],
            r"series 's1' has 20 values; input_size 24 \+ horizon 6 need at least 30",
        ),
        (lambda t: t.rename(columns={"ds": "date"}), r"the table has no column 'ds'"),
    ],
    ids=["duplicate", "gap", "nan", "too short", "no time column"],
)
def test_bad_series_get_an_error_that_names_them(change, message):
    table = seasonal_table(n_series=2, length=40)
    with pytest.raises(ForecastDataError, match=message):
        small_forecaster(epochs=1).fit(change(table))


def test_histories_shorter_than_the_window_are_refused_at_predict(fitted_on_history):
    forecaster, history, _ = fitted_on_history
    short = history.groupby("unique_id").head(10)
    with pytest.raises(ForecastDataError, match=r"has 10 values; input_size 24 need"):
        forecaster.predict(short)


def test_scikit_learn_parameters_and_validation():
    forecaster = small_forecaster()
    assert clone(forecaster).get_params() == forecaster.get_params()
    with pytest.raises(ValueError, match="horizon"):
        GRUForecaster(horizon=0).fit(seasonal_table(n_series=1))
    with pytest.raises(ValueError, match="scaling"):
        GRUForecaster(scaling="minmax").fit(seasonal_table(n_series=1))
    with pytest.raises(ValueError, match="loss"):
        GRUForecaster(loss="huber").fit(seasonal_table(n_series=1))


def test_check_series_keeps_the_order_of_first_appearance():
    table = seasonal_table(n_series=3, length=20).iloc[::-1]
    assert check_series(table).ids == ("s2", "s1", "s0")


@pytest.mark.slow
def test_quantiles_give_an_interval_around_noisy_futures():
    table = seasonal_table(n_series=16, length=72)
    noise = np.random.default_rng(1).normal(scale=2.0, size=len(table))
    table = table.assign(y=table["y"] + noise)
    history = table.groupby("unique_id").head(72 - HORIZON)
    future = table.groupby("unique_id").tail(HORIZON)
    forecaster = small_forecaster(quantiles=(0.9, 0.1), loss="mae", epochs=40).fit(history)
    assert forecaster.quantiles_ == (0.1, 0.9)
    merged = future.merge(forecaster.predict(), on=["unique_id", "ds"])
    assert {"y_hat", "y_hat_q10", "y_hat_q90"} <= set(merged.columns)
    assert (merged["y_hat_q10"] <= merged["y_hat_q90"]).all()
    inside = (merged["y"] >= merged["y_hat_q10"]) & (merged["y"] <= merged["y_hat_q90"])
    # an 80 % interval on 96 noisy future values: loosely, not a point interval
    assert 0.5 <= inside.mean() <= 1.0, inside.mean()
    assert (merged["y_hat_q90"] - merged["y_hat_q10"]).mean() > 0.5


@pytest.mark.parametrize("levels", [(0.0, 0.5), (0.5, 0.5), (1.2,)])
def test_quantile_levels_must_be_distinct_and_inside_zero_and_one(levels):
    with pytest.raises(ValueError, match=r"quantiles must be distinct levels in \(0, 1\)"):
        small_forecaster(quantiles=levels).fit(seasonal_table(n_series=1))


def test_an_ensemble_forecasts_the_mean_of_members_trained_with_their_own_seeds():
    forecaster = small_forecaster(n_models=3, epochs=2).fit(seasonal_table(n_series=4))
    members = [forecaster.model_.get_layer(f"gru_forecaster_{i}") for i in range(3)]
    inputs, _, _ = forecaster.windows_.last_inputs(
        forecaster.scaler_.transform(forecaster.series_.values)
    )
    outputs = [np.asarray(member.predict_on_batch(inputs)) for member in members]
    assert not np.allclose(outputs[0], outputs[1])  # distinct seeds, distinct members
    np.testing.assert_allclose(
        np.asarray(forecaster.model_.predict_on_batch(inputs)), np.mean(outputs, axis=0), rtol=1e-5
    )
    assert len(forecaster.history_["loss"]) == 2  # the members' mean curve


@pytest.mark.parametrize(
    ("stamps", "season"),
    [
        (pd.date_range("2000-01-01", periods=40, freq="MS"), 12),
        (pd.date_range("2000-01-01", periods=40, freq="QS"), 4),
        (pd.date_range("2000-01-01", periods=40, freq="YS"), 1),
        (pd.date_range("2000-01-03", periods=40, freq="W-MON"), 52),
        (pd.date_range("2000-01-01", periods=40, freq="D"), 7),
        (pd.date_range("2000-01-01", periods=40, freq="h"), 24),
        (pd.date_range("2000-01-01", periods=40, freq="min"), 60),
        (np.arange(40), 1),
    ],
    ids=["monthly", "quarterly", "yearly", "weekly", "daily", "hourly", "minutes", "integers"],
)
def test_the_season_length_follows_the_time_stamps(stamps, season):
    table = pd.DataFrame({"unique_id": "a", "ds": stamps, "y": np.sin(np.arange(40.0))})
    assert small_forecaster(epochs=1).fit(table).season_length_ == season
    assert small_forecaster(epochs=1, season_length=3).fit(table).season_length_ == 3


def test_an_automatic_window_is_a_multiple_of_the_horizon_cut_to_the_shortest_series():
    table = seasonal_table(n_series=2, length=40)
    auto = dict(input_size="auto", epochs=1)
    assert small_forecaster(input_size_multiplier=1.5, **auto).fit(table).windows_.input_size == 9
    # 40 values leave room for a window of 34 before a horizon of 6
    assert small_forecaster(input_size_multiplier=10, **auto).fit(table).windows_.input_size == 34


FORECAST_IN_A_FRESH_PROCESS = """
import sys
import gru_search
print(gru_search.load(sys.argv[1]).predict().to_json())
"""


@pytest.mark.parametrize("n_models", [1, 2])
def test_a_saved_forecaster_loads_and_forecasts_the_same(tmp_path, n_models):
    from gru_search import load, save

    table = seasonal_table(n_series=3, start="2001-01-01")
    forecaster = small_forecaster(epochs=2, n_models=n_models, quantiles=(0.1, 0.9))
    forecaster.fit(table)
    save(forecaster, tmp_path / "model")
    loaded = load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.predict(), forecaster.predict())
    history = table.groupby("unique_id").head(50)  # new histories: scaled by their own stats
    pd.testing.assert_frame_equal(loaded.predict(history), forecaster.predict(history))
    assert loaded.season_length_ == 12 and loaded.get_params() == forecaster.get_params()


@pytest.mark.slow
def test_a_saved_forecaster_forecasts_the_same_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    from gru_search import save

    forecaster = small_forecaster(epochs=1, quantiles=(0.5,)).fit(seasonal_table(n_series=2))
    save(forecaster, tmp_path / "model")
    result = subprocess.run(
        [sys.executable, "-c", FORECAST_IN_A_FRESH_PROCESS, str(tmp_path / "model")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    fresh = pd.read_json(__import__("io").StringIO(result.stdout))
    expected = forecaster.predict()
    np.testing.assert_allclose(fresh["y_hat"], expected["y_hat"], rtol=1e-6)
    np.testing.assert_allclose(fresh["y_hat_q50"], expected["y_hat_q50"], rtol=1e-6)


def test_padding_lets_series_shorter_than_a_window_train_and_forecast():
    table = seasonal_table(n_series=2, length=40)
    short = table[(table["unique_id"] != "s1") | (table["ds"] < 20)]  # s1: 20 < 24 + 6 values
    padded = dict(epochs=1, short_series="pad", input_size="auto", input_size_multiplier=4)
    forecaster = small_forecaster(**padded).fit(short)
    windows = forecaster.windows_
    inputs, _ = windows.training_rows(forecaster.scaler_.transform(forecaster.series_.values))
    assert len(inputs) == (40 - 30 + 1) + 1  # s1 gives one window, padded
    assert windows.input_size == 24  # 4 x 6: without padding "auto" would shorten it to 14
    few = short.groupby("unique_id").head(5)  # 5 past values: padded to the window
    assert len(forecaster.predict(few)) == 2 * HORIZON
    too_few = short.groupby("unique_id").head(HORIZON)
    with pytest.raises(ForecastDataError, match=r"series 's0' has 6 values; horizon 6 and one"):
        small_forecaster(**padded).fit(too_few)


def test_small_data_still_gets_several_steps_per_epoch():
    import keras

    class CountBatches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    counter = CountBatches()
    one_series = seasonal_table(n_series=1, length=60)  # 60 - 30 + 1 = 31 windows
    small_forecaster(epochs=1, batch_size=256).fit(one_series, callbacks=[counter])
    assert counter.batches == 8  # batches of 4, not one batch of 31


def test_a_recursive_forecaster_feeds_its_one_step_forecasts_back(fitted_on_history):
    _, history, future = fitted_on_history
    recursive = small_forecaster(strategy="recursive").fit(history)
    assert recursive.model_.output_shape[-1] == 1  # one step, fed back HORIZON times
    merged = future.merge(recursive.predict(), on=["unique_id", "ds"])
    assert len(merged) == len(future)
    last_value = history.groupby("unique_id")["y"].last()
    naive_error = np.abs(merged["y"] - merged["unique_id"].map(last_value)).mean()
    assert np.abs(merged["y"] - merged["y_hat"]).mean() < 0.5 * naive_error


def test_a_recursive_forecaster_saves_and_refuses_quantiles(tmp_path):
    from gru_search import load, save

    table = seasonal_table(n_series=2)
    forecaster = small_forecaster(epochs=1, strategy="recursive", n_models=2).fit(table)
    save(forecaster, tmp_path / "model")
    pd.testing.assert_frame_equal(load(tmp_path / "model").predict(), forecaster.predict())
    with pytest.raises(ValueError, match=r'strategy="recursive" .* no quantiles or covariates'):
        small_forecaster(strategy="recursive", quantiles=(0.1, 0.9)).fit(table)


@pytest.mark.parametrize(("schedule", "final_fraction"), [("cosine", 0.05), ("constant", 1.0)])
def test_the_learning_rate_decays_along_a_cosine_to_the_end_of_training(schedule, final_fraction):
    forecaster = small_forecaster(epochs=3, learning_rate=0.01, learning_rate_schedule=schedule)
    forecaster.fit(seasonal_table(n_series=3))
    optimizer = forecaster.model_.optimizer
    steps_per_epoch = -(-sum(72 - 2 * PERIOD - HORIZON + 1 for _ in range(3)) // 16)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 3 * steps_per_epoch
    final_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    assert final_rate == pytest.approx(0.01 * final_fraction, rel=1e-4)
