"""GRUForecastSearch: rolling-origin trials with per-epoch pruning, finalists, refit."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from gru_search import GRUForecastSearch, SpaceError
from gru_search.exceptions import SearchFailedError
from gru_search.forecasting import ForecastDataError
from gru_search.spaces import SearchSpace

HORIZON = 4

SPACE = {
    "task": "forecasting",
    "name": "tiny-forecasting",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [8, 16]},
    },
    "params": {
        "input_size_multiplier": {"type": "categorical", "choices": [1.0, 2.0]},
        "learning_rate": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True},
    },
    "fixed": {"loss": "mae", "batch_size": 32, "jit_compile": False},
    "training": {"epochs": 4, "pruning_warmup": 2, "finalists": 2, "windows": 2},
    "start_from": [
        {"n_layers": 1, "units_0": 16, "input_size_multiplier": 2.0, "learning_rate": 1e-2}
    ],
}


def seasonal_series(n_series: int = 5, length: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(length)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2001-01-01", periods=length, freq="MS"),
                    "y": rng.uniform(20, 50)
                    + rng.uniform(2, 8) * np.sin(2 * np.pi * t / 12 + i)
                    + rng.normal(scale=0.3, size=length),
                }
            )
            for i in range(n_series)
        ],
        ignore_index=True,
    )


def tiny_search(**params) -> GRUForecastSearch:
    defaults = dict(space=SearchSpace.from_dict(SPACE), n_trials=3, random_state=0, verbose=0)
    return GRUForecastSearch(HORIZON, **{**defaults, **params})


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    storage = f"sqlite:///{tmp_path_factory.mktemp('study') / 'study.db'}"
    series = seasonal_series()
    return tiny_search(storage=storage, study_name="s").fit(series), series, storage


def test_the_search_stores_trials_judges_finalists_and_refits(searched):
    search, series, storage = searched
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 3 and search.n_trials_ == 3
    spec = study.user_attrs
    assert "forecasting" in str(spec) and "rolling-origin-2x4-h4" in str(spec)
    # every trial reported its window error per epoch: what the pruner reads
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)
    assert list(search.finalists_.columns[:3]) == ["trial", "study_value", "mean_mase"]
    assert len(search.finalists_) == 2 and {"window_0", "window_1"} <= set(search.finalists_)
    assert search.best_trial_.number == int(search.finalists_["trial"].iloc[0])
    # the refit trains as long as the trial's best epoch, on every series
    assert search.best_params_["epochs"] == search.best_trial_.user_attrs["best_epoch"]
    forecast = search.predict()
    assert len(forecast) == 5 * HORIZON and forecast["y_hat"].notna().all()
    assert forecast["ds"].min() == series["ds"].max() + pd.offsets.MonthBegin(1)
    assert search.leaderboard()["trial"].iloc[0] == search.best_trial_.number


def test_the_validation_forecast_sits_beside_the_actuals_of_the_latest_window(searched):
    search, series, _ = searched
    frame = search.validation_forecast_
    assert list(frame.columns) == ["unique_id", "ds", "y", "y_hat"]
    last = series.groupby("unique_id").tail(HORIZON).reset_index(drop=True)
    pd.testing.assert_frame_equal(frame[["unique_id", "ds", "y"]], last, check_dtype=False)
    np.testing.assert_allclose(
        np.abs(frame["y"] - frame["y_hat"]).mean() > 0, True
    )  # a forecast, not the actuals copied


def test_a_resumed_study_adds_trials(searched):
    _, series, storage = searched
    again = tiny_search(storage=storage, study_name="s", n_trials=1, finalists=1).fit(series)
    assert again.n_trials_ == 4


def test_an_ensemble_refit_trains_each_network_for_the_epochs_asked(capsys):
    search = tiny_search(n_trials=1, refit_models=2, refit_epochs=3, verbose=1)
    search.fit(seasonal_series(n_series=3))
    refit = search.best_estimator_
    assert refit.n_models == 2 and refit.epochs == 3
    assert len(refit.history_["loss"]) == 3  # the networks' mean loss, one per epoch
    assert "for 3 epochs (2 networks)" in capsys.readouterr().err
    # the trial's own best epoch stays on record as its configuration
    assert search.best_params_["epochs"] == search.best_trial_.user_attrs["best_epoch"]


def test_series_too_short_to_validate_are_left_out_of_the_trials_and_still_forecast(capsys):
    series = seasonal_series(n_series=3)
    short = series[series["unique_id"] == "s1"].head(2 * HORIZON)  # 8 values: 4 + 4 too few
    series = pd.concat([series[series["unique_id"] != "s1"], short], ignore_index=True)
    search = tiny_search(n_trials=1, finalists=1, verbose=1).fit(series)
    assert [w.history.ids for w in search.windows_] == [("s0", "s2")] * 2
    assert "1 of 3 series have fewer than 13 values" in capsys.readouterr().err
    forecast = search.predict()  # the refit reads all three, padding the short one
    counts = forecast.groupby("unique_id").size().to_dict()
    assert counts == {"s0": HORIZON, "s1": HORIZON, "s2": HORIZON}


class PruneAfterTwoEpochs(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return len(trial.intermediate_values) >= 2


def test_pruned_trials_stop_early_and_a_search_without_a_complete_trial_says_so():
    search = tiny_search(pruner=PruneAfterTwoEpochs(), storage=None)
    with pytest.raises(SearchFailedError, match="no trial"):
        search.fit(seasonal_series(n_series=3))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (dict(horizon=0), ValueError, "horizon must be a positive integer, got 0"),
        (dict(space="quick"), SpaceError, "is not a forecasting space"),
        (dict(refit_epochs=0), ValueError, "'refit_epochs' parameter of GRUForecastSearch"),
        (dict(refit_models=1.5), ValueError, "'refit_models' parameter of GRUForecastSearch"),
        (
            dict(n_windows=5),
            ForecastDataError,
            r"series 's0' has 20 values; 5 validation window\(s\) of horizon 4",
        ),
    ],
    ids=["horizon", "sequence space", "refit epochs", "refit models", "too short"],
)
def test_bad_settings_fail_before_any_trial(change, error, message):
    params = {"horizon": HORIZON, **change}
    horizon = params.pop("horizon")
    search = GRUForecastSearch(
        horizon, **{"space": SearchSpace.from_dict(SPACE), "verbose": 0, **params}
    )
    with pytest.raises(error, match=message):
        search.fit(seasonal_series(n_series=2, length=20))
