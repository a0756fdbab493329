"""Covariates in GRUForecaster: past, future-known and static columns of a long table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gru_search import GRUForecastSearch
from gru_search.forecast_covariates import CovariateColumns
from gru_search.forecasting import ForecastDataError, GRUForecaster, check_series
from gru_search.spaces import SearchSpace

HORIZON, LENGTH = 6, 90


def promoted_sales(n_series: int = 6, length: int = LENGTH, seed: int = 0) -> pd.DataFrame:
    """Series whose level is 10 x a static ``size`` and that jump by 6 on ``promo`` days,
    drawn at random: without the promotions' plan their future is a coin toss."""
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(n_series):
        promo = rng.integers(0, 2, length).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{index}",
                    "ds": np.arange(length),
                    "y": 10.0 * index + 6.0 * promo + rng.normal(0, 0.3, length),
                    "promo": promo,
                    "size": float(index),
                    "noise": rng.normal(size=length),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def forecaster(**params) -> GRUForecaster:
    # a constant rate: 20 epochs of a 16-unit model learn the promotions (error 0.53),
    # while a cosine decay over those 20 epochs leaves them half learnt (1.53)
    defaults = dict(
        horizon=HORIZON,
        units=(16,),
        epochs=20,
        learning_rate_schedule="constant",
        jit_compile=False,
        random_state=0,
    )
    return GRUForecaster(**{**defaults, **params})


@pytest.fixture(scope="module")
def split():
    table = promoted_sales()
    history = table[table["ds"] < LENGTH - HORIZON]
    future = table[table["ds"] >= LENGTH - HORIZON]
    return history, future


@pytest.fixture(scope="module")
def with_plan(split):
    history, _ = split
    return forecaster(future_exog=["promo"], static_exog=["size"], past_exog=["noise"]).fit(history)


def error(model: GRUForecaster, future: pd.DataFrame, **predict) -> float:
    merged = future.merge(model.predict(**predict), on=["unique_id", "ds"])
    assert len(merged) == len(future)
    return float(np.abs(merged["y"] - merged["y_hat"]).mean())


def test_a_known_future_covariate_is_read_over_the_horizon(split, with_plan):
    history, future = split
    blind = forecaster().fit(history)
    informed = error(with_plan, future, X_future=future[["unique_id", "ds", "promo"]])
    assert informed < 0.5 * error(blind, future), (informed, error(blind, future))
    # the plan changes the forecast: flip every promotion and the forecast follows
    flipped = future.assign(promo=1.0 - future["promo"])
    moved = with_plan.predict(X_future=flipped).merge(future, on=["unique_id", "ds"])
    step = np.where(moved["promo"] == 1, -1.0, 1.0) * (
        moved["y_hat"] - with_plan.predict(X_future=future)["y_hat"].to_numpy()
    )
    assert np.mean(step) > 3.0  # about the promotions' 6


def test_the_model_reads_the_window_and_the_horizon_with_every_channel(with_plan):
    windows = with_plan.windows_
    assert (windows.n_past, windows.n_future, windows.n_static) == (1, 1, 1)
    # target, past, future, static, horizon flag
    assert with_plan.model_.input_shape[1:] == (windows.input_size + HORIZON, 5)


@pytest.mark.parametrize(
    ("X_future", "message"),
    [
        (None, r"reads future covariates \['promo'\]: pass X_future"),
        ("drop_series", r"X_future has no rows for series 's5'"),
        ("drop_step", r"X_future has no row for series 's0' at ds = 89"),
        ("drop_column", r"X_future has no column 'promo'"),
        ("nan", r"series 's0' has a missing or non-numeric covariate 'promo' at ds = 84"),
    ],
)
def test_missing_future_covariates_get_an_error_naming_the_series(
    split, with_plan, X_future, message
):
    _, future = split
    table = {
        None: None,
        "drop_series": future[future["unique_id"] != "s5"],
        "drop_step": future[~((future["unique_id"] == "s0") & (future["ds"] == 89))],
        "drop_column": future.drop(columns="promo"),
        "nan": future.assign(promo=np.where(future["ds"] == 84, np.nan, future["promo"])),
    }[X_future]
    with pytest.raises(ForecastDataError, match=message):
        with_plan.predict(X_future=table)


def test_extra_rows_in_x_future_are_ignored(split, with_plan):
    _, future = split
    longer = pd.concat([future, future.assign(ds=future["ds"] + HORIZON)], ignore_index=True)
    pd.testing.assert_frame_equal(
        with_plan.predict(X_future=longer), with_plan.predict(X_future=future)
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="size"), r"no column 'size' \(named in static_exog\)"),
        (
            lambda t: t.assign(size=np.where(t["ds"] == 5, 99.0, t["size"])),
            r"series 's0' has more than one value of static covariate 'size'",
        ),
        (
            lambda t: t.assign(noise=np.where(t["ds"] == 7, np.nan, t["noise"])),
            r"series 's0' has a missing or non-numeric covariate 'noise' at ds = 7",
        ),
        (
            lambda t: t.assign(promo="yes"),
            r"series 's0' has a missing or non-numeric covariate 'promo' at ds = 0",
        ),
    ],
)
def test_bad_covariates_in_the_table_get_an_error_naming_them(split, change, message):
    history, _ = split
    columns = CovariateColumns.of(["noise"], ["promo"], ["size"])
    with pytest.raises(ForecastDataError, match=message):
        check_series(change(history), covariates=columns)


def test_a_column_has_one_kind_and_covariates_need_a_table():
    with pytest.raises(ValueError, match="'promo' is named more than once"):
        forecaster(past_exog=["promo"], future_exog=["promo"]).fit(promoted_sales())
    with pytest.raises(ForecastDataError, match="columns of a long DataFrame"):
        forecaster(past_exog=["x"]).fit([np.arange(30.0)])


def test_covariate_windows_cut_at_each_origin():
    series = check_series(
        promoted_sales(2), covariates=CovariateColumns.of(["noise"], ["promo"], [])
    )
    head = series.head(HORIZON)
    assert [len(c) for c in head.covariates] == [LENGTH - HORIZON] * 2
    ahead = series.future_covariates(HORIZON, HORIZON, ["promo"])
    np.testing.assert_array_equal(ahead[0][:, 0], series.covariates[0][-HORIZON:, 1])


def test_a_saved_forecaster_with_covariates_forecasts_the_same(tmp_path, split):
    from gru_search import load, save

    history, future = split
    model = forecaster(epochs=1, future_exog=["promo"], static_exog=["size"], n_models=2)
    model.fit(history)
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.predict(X_future=future), model.predict(X_future=future))
    older = history[history["ds"] < 60]
    pd.testing.assert_frame_equal(
        loaded.predict(older, X_future=history[history["ds"] >= 60]),
        model.predict(older, X_future=history[history["ds"] >= 60]),
    )


SPACE = {
    "task": "forecasting",
    "name": "tiny-covariates",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [8, 16]},
    },
    "params": {"learning_rate": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True}},
    "fixed": {"loss": "mae", "batch_size": 32, "jit_compile": False},
    "training": {"epochs": 6, "pruning_warmup": 2, "finalists": 2, "windows": 2},
}


def test_a_search_validates_with_the_held_out_future_covariates(split):
    history, future = split
    search = GRUForecastSearch(
        HORIZON,
        space=SearchSpace.from_dict(SPACE),
        n_trials=2,
        future_exog=["promo"],
        static_exog=["size"],
        random_state=0,
        verbose=0,
    ).fit(history)
    assert search.best_estimator_.future_exog == ["promo"]
    assert search.best_estimator_.windows_.n_future == 1
    forecast = search.predict(X_future=future)
    assert len(forecast) == 6 * HORIZON and forecast["y_hat"].notna().all()
    with pytest.raises(ForecastDataError, match="pass X_future"):
        search.predict()
