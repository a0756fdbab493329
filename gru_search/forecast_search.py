"""Search GRU forecasters: :class:`GRUForecastSearch`.

The sibling of :class:`~gru_search.search.GRUSearchCV` for forecasting. Every trial
samples a :class:`~gru_search.forecasting.GRUForecaster` configuration from a
``task: forecasting`` space, trains it on the series up to the latest rolling-origin
window and forecasts that window after every epoch; the window's error (MASE or sMAPE)
is reported to Optuna, which prunes hopeless trials, and the best epoch's error is the
trial's value. The best few trials (the *finalists*) are then trained on the earlier
windows too, each for its best epoch count, and the one with the best mean error over
all windows is refit on the whole series (see :mod:`gru_search.finalists`, the same
logic for labelled sequences). Never a random split: a model must not read the future
it forecasts.

Trials, their errors and the finalists' pick live in the Optuna storage, so that
optuna-dashboard shows the search, a study resumes where it stopped, and
:func:`gru_search.leaderboard.leaderboard` and :func:`gru_search.report.write_report`
read it as they read any other search.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from gru_search.accelerators import warn_if_gpu_unused
from gru_search.dashboard_records import record_selection
from gru_search.estimators import EpochTimer
from gru_search.exceptions import SearchFailedError, SpaceError
from gru_search.finalists import FinalistScore, pick, record, selected_trial
from gru_search.forecast_covariates import CovariateColumns
from gru_search.forecast_validation import (
    ForecastWindow,
    forecast_error,
    forecasts_by_series,
    rolling_origin,
)
from gru_search.forecasting import (
    GRUForecaster,
    SeriesSet,
    check_series,
    forecaster_constraints,
)
from gru_search.leaderboard import leaderboard
from gru_search.seeding import MAX_SEED
from gru_search.spaces import SearchSpace, load_space
from gru_search.storage import make_storage
from gru_search.studies import (
    make_pruner,
    make_sampler,
    open_study,
    quiet_optuna,
    start_or_resume,
)
from gru_search.trials import (
    PruningCallback,
    StopWhenHopeless,
    TrainingDivergedError,
    all_failed_message,
    best_trial,
    describe_error,
    describe_finished_trial,
    ranked_trials,
    refit_params,
    release_keras_memory,
    steady_epoch_seconds,
)

#: Trials a search runs when given neither ``n_trials`` nor ``timeout``.
DEFAULT_TRIALS = 20


class WindowScorer(PruningCallback):
    """Forecast one validation window after every epoch; report its error and prune.

    Like :class:`gru_search.trials.EpochReporter`, it stops training through
    ``model.stop_training`` (never an exception inside Keras); the caller then raises.
    """

    def __init__(
        self,
        forecaster: GRUForecaster,
        window: ForecastWindow,
        metric: str,
        trial: optuna.Trial | None = None,
    ) -> None:
        super().__init__(trial)
        self.forecaster = forecaster
        self.window = window
        self.metric = metric
        self.best_forecasts: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.epoch_can_be_scored(epoch, logs):
            return
        forecasts = window_forecasts(self.forecaster, self.window)
        value = forecast_error(
            self.metric,
            self.window.history.values,
            self.window.actuals,
            forecasts,
            self.forecaster.season_length_,
        )
        if math.isfinite(value) and all(value < v for v in self.values if math.isfinite(v)):
            self.best_forecasts = forecasts
        self.record(value, epoch)

    def best(self) -> tuple[float, int]:
        """The lowest error and its epoch (1-based)."""
        finite = [(v, i) for i, v in enumerate(self.values) if math.isfinite(v)]
        if not finite:
            raise TrainingDivergedError("every epoch's forecast error was NaN or infinite")
        value, index = min(finite)
        return value, index + 1


def window_forecasts(forecaster: GRUForecaster, window: ForecastWindow) -> list[np.ndarray]:
    """A forecaster's point forecasts past ``window.history``, one array per series (the
    future covariates, if it reads any, are the window's held-out rows)."""
    horizon = forecaster.horizon
    future = window.future_covariates(tuple(forecaster.future_exog or ()))
    forecast = forecaster.predict(window.history, X_future=future)
    return forecasts_by_series(forecast, len(window.history), horizon)


def window_error(forecaster: GRUForecaster, window: ForecastWindow, metric: str) -> float:
    """``metric`` of a forecaster fitted on ``window.history`` against the window's actuals."""
    forecasts = window_forecasts(forecaster, window)
    return forecast_error(
        metric, window.history.values, window.actuals, forecasts, forecaster.season_length_
    )


@dataclass(frozen=True)
class ForecastSearchSetup:
    """What every trial shares: the space, the validation windows and the seeds."""

    space: SearchSpace
    series: SeriesSet
    windows: list[ForecastWindow]
    metric: str
    base_params: dict[str, Any]
    sampler_seed: int
    trial_seed: int | None
    #: each trial's best-epoch forecasts of the latest window, by trial number (this
    #: process's trials only: they are not stored in the study)
    forecasts: dict[int, list[np.ndarray]] = field(default_factory=dict)


class GRUForecastSearch(BaseEstimator):
    """Search a forecasting space with Optuna; refit the best :class:`GRUForecaster`.

    Parameters
    ----------
    horizon : int
        Steps to forecast after each series' end.
    space : str, path or SearchSpace, default="forecasting"
        A space with ``task: forecasting`` (``search_spaces/forecasting.yaml``).
    n_trials : int, optional
        Trials to run (default 20 when ``timeout`` is None too).
    timeout : float, optional
        Seconds for the study (the finalists and the refit come after it).
    n_windows : int, optional
        Rolling-origin validation windows (default: the space's ``training.windows``).
        Trials are judged and pruned on the latest; finalists on all of them.
    step_size : int, optional
        Steps between window origins (default ``horizon``).
    finalists : int, optional
        Best trials judged on every window before the refit (default: the space's).
    metric : {"mase", "smape"}, optional
        The error minimised (default: the space's).
    season_length : int or "auto", default="auto"
        Season for MASE, as :class:`GRUForecaster`'s.
    id_col, time_col, target_col : str
        Column names of a long table.
    past_exog, future_exog, static_exog : list of str, optional
        Covariate columns, as :class:`GRUForecaster`'s (every trial reads them; the
        validation windows' future covariates are their held-out rows).
    storage : str or optuna storage, optional
        Where the study lives (an SQLite or PostgreSQL URL); None keeps it in memory.
    study_name : str, optional
        Resumes the study of that name in ``storage`` if it exists.
    sampler : {"tpe", "random"} or optuna sampler, default="tpe"
    pruner : {"median", "hyperband", "successive_halving", "none"} or optuna pruner,
        default="median"
    refit : bool, default=True
    refit_models : int, optional
        Networks averaged in the refit forecaster (its ``n_models``; default: as the
        trial trained, usually 1). An ensemble of 4 cut the MASE of one network by about
        5 % on M3 monthly, for 4 times the refit's time (benchmarks/RESULTS.md).
    refit_epochs : int, optional
        Epochs every refit network trains (default: the refit trial's best epoch on the
        latest window). On M3 monthly it made no difference: 6 networks of 30 epochs
        scored as 8 of the best epoch's 13 (benchmarks/RESULTS.md).
    random_state : int, RandomState or None, default=None
    verbose : int, default=1
        1: one line per trial; 0: silent.

    Attributes
    ----------
    best_estimator_ : GRUForecaster
        The refit forecaster (with ``refit=True``).
    best_params_ : dict
    best_score_ : float
        The refit trial's error on the latest window.
    best_trial_ : optuna.trial.FrozenTrial
    finalists_ : DataFrame
        Finalists' errors per window and mean (empty without finalists).
    validation_forecast_ : DataFrame or None
        The refit trial's forecasts of the latest validation window beside the actual
        values (id, time, ``y``, ``y_hat``); None when that trial ran in an earlier
        session of a resumed study.
    study_ : optuna.Study
    space_ : SearchSpace
    windows_ : list of ForecastWindow
        The validation windows, earliest first. A series too short to give up the
        windows and still train (``horizon + 1`` values before the earliest origin) is
        left out of them, with a logged line, and forecast by the refit all the same.
    n_trials_ : int
    """

    def __init__(
        self,
        horizon: int,
        *,
        space: str | Path | SearchSpace = "forecasting",
        n_trials: int | None = None,
        timeout: float | None = None,
        n_windows: int | None = None,
        step_size: int | None = None,
        finalists: int | None = None,
        metric: str | None = None,
        season_length: int | str = "auto",
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        past_exog: Sequence[str] | None = None,
        future_exog: Sequence[str] | None = None,
        static_exog: Sequence[str] | None = None,
        storage: Any = None,
        study_name: str | None = None,
        sampler: Any = "tpe",
        pruner: Any = "median",
        refit: bool = True,
        refit_models: int | None = None,
        refit_epochs: int | None = None,
        random_state: Any = None,
        verbose: int = 1,
    ) -> None:
        self.horizon = horizon
        self.space = space
        self.n_trials = n_trials
        self.timeout = timeout
        self.n_windows = n_windows
        self.step_size = step_size
        self.finalists = finalists
        self.metric = metric
        self.season_length = season_length
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.past_exog = past_exog
        self.future_exog = future_exog
        self.static_exog = static_exog
        self.storage = storage
        self.study_name = study_name
        self.sampler = sampler
        self.pruner = pruner
        self.refit = refit
        self.refit_models = refit_models
        self.refit_epochs = refit_epochs
        self.random_state = random_state
        self.verbose = verbose

    # -- steps ---------------------------------------------------------------------------
    def prepare(self, X: Any) -> ForecastSearchSetup:
        """Validate the series and the space; cut the validation windows; draw the seeds."""
        space = load_space(self.space)
        if space.task != "forecasting":
            raise SpaceError(
                f"space {space.name!r} ({space.source}) is not a forecasting space; "
                "GRUForecastSearch needs one with `task: forecasting` (e.g. 'forecasting')"
            )
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int | np.integer):
            raise ValueError(f"horizon must be a positive integer, got {self.horizon!r}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {self.horizon!r}")
        metric = self.metric or space.training.metric
        base = {
            "horizon": int(self.horizon),
            "season_length": self.season_length,
            "id_col": self.id_col,
            "time_col": self.time_col,
            "target_col": self.target_col,
        }
        covariates = CovariateColumns.of(self.past_exog, self.future_exog, self.static_exog)
        for kind, names in (
            ("past_exog", covariates.past),
            ("future_exog", covariates.future),
            ("static_exog", covariates.static),
        ):
            if names:
                base[kind] = list(names)
        validate_parameter_constraints(
            {
                k: forecaster_constraints()[k]
                for k in ("season_length", "id_col", "time_col", "target_col")
            },
            {k: base[k] for k in ("season_length", "id_col", "time_col", "target_col")},
            caller_name="GRUForecastSearch",
        )
        # checked now, not after the study: the refit is the last thing the search does
        constraints = forecaster_constraints()
        validate_parameter_constraints(
            {
                "refit_models": [*constraints["n_models"], None],
                "refit_epochs": [*constraints["epochs"], None],
            },
            {"refit_models": self.refit_models, "refit_epochs": self.refit_epochs},
            caller_name="GRUForecastSearch",
        )
        series = check_series(
            X,
            id_col=self.id_col,
            time_col=self.time_col,
            target_col=self.target_col,
            covariates=covariates,
        )
        n_windows = self.n_windows or space.training.windows
        windows = rolling_origin(
            series,
            int(self.horizon),
            n_windows=n_windows,
            step_size=self.step_size,
            min_history=int(self.horizon) + 1,
            too_short="skip",
        )
        # competition data holds series too short to give up a window: they stay out of
        # the validation (said here, not silently) and are forecast by the refit
        skipped = len(series) - len(windows[0].history)
        if skipped:
            needed = windows[0].held_out + int(self.horizon) + 1
            self._log(
                f"{skipped} of {len(series)} series have fewer than {needed} values, too few "
                f"for {n_windows} validation window(s) and a horizon to train on: the trials "
                "train and score on the other series; the refit uses every series"
            )
        rng = check_random_state(self.random_state)
        sampler_seed = int(rng.randint(MAX_SEED))
        trial_seed = int(rng.randint(MAX_SEED)) if self.random_state is not None else None
        return ForecastSearchSetup(space, series, windows, metric, base, sampler_seed, trial_seed)

    def open_study(
        self, setup: ForecastSearchSetup, extra_spec: dict | None = None
    ) -> optuna.Study:
        """Create the study (start points queued) or resume a matching one."""
        space = setup.space
        step = self.step_size or self.horizon
        spec = {
            "space": space.to_dict(),
            "task": "forecasting",
            "metric": setup.metric,
            "validation": f"rolling-origin-{len(setup.windows)}x{step}-h{self.horizon}",
            **(extra_spec or {}),
        }
        study = open_study(
            storage=make_storage(self.storage),
            study_name=self.study_name,
            spec=spec,
            direction="minimize",
            sampler=make_sampler(self.sampler, setup.sampler_seed, parallel=False),
            pruner=make_pruner(self.pruner, space.training.pruning_warmup, space.training.epochs),
        )
        finished = start_or_resume(study, space, self.sampler, setup.sampler_seed, parallel=False)
        if finished:
            self._log(f"resuming study {study.study_name!r} with {finished} finished trials")
        return study

    def trial_function(self, setup: ForecastSearchSetup) -> Callable[[optuna.Trial], float]:
        """The objective of one trial: the best epoch's error on the latest window."""

        def objective(trial: optuna.Trial) -> float:
            start = time.perf_counter()
            try:
                return self._run_trial(trial, setup, start)
            except optuna.TrialPruned:
                raise
            except Exception as error:
                if "fail_reason" not in trial.user_attrs:
                    trial.set_user_attr("fail_reason", describe_error(error))
                trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
                raise
            finally:
                release_keras_memory()

        return objective

    def _run_trial(self, trial: optuna.Trial, setup: ForecastSearchSetup, start: float) -> float:
        params = setup.space.sample(trial)
        trial.set_user_attr("estimator_params", _jsonable(params))
        trial.set_user_attr("cell", params.get("cell", "gru"))
        seed = self._seed(setup, trial.number)
        if seed is not None:  # the refit's seed too: `gru-search export` reuses it
            trial.set_user_attr("seed", seed)
        forecaster = GRUForecaster(**setup.base_params, **params, random_state=seed)
        window = setup.windows[-1]
        scorer = WindowScorer(forecaster, window, setup.metric, trial)
        timer = EpochTimer()  # first, so that an epoch's time leaves out its scoring
        forecaster.fit(window.history, callbacks=[timer, scorer])
        trial.set_user_attr("n_params", int(forecaster.model_.count_params()))
        trial.set_user_attr("device", forecaster.device_)
        trial.set_user_attr("input_size", forecaster.windows_.input_size)
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        if timer.seconds:
            trial.set_user_attr("mean_epoch_seconds", steady_epoch_seconds(timer.seconds))
            trial.set_user_attr("first_epoch_seconds", round(timer.seconds[0], 4))
        if scorer.diverged:
            trial.set_user_attr("fail_reason", scorer.diverged)
            raise TrainingDivergedError(scorer.diverged)
        if scorer.pruned:
            raise optuna.TrialPruned(f"pruned at epoch {len(scorer.values)}")
        value, epoch = scorer.best()
        trial.set_user_attr("best_epoch", epoch)
        if scorer.best_forecasts is not None:
            setup.forecasts[trial.number] = scorer.best_forecasts
        return value

    def run_finalists(
        self, study: optuna.Study, setup: ForecastSearchSetup
    ) -> tuple[list[FinalistScore], optuna.trial.FrozenTrial]:
        """Judge the best trials on every window; store and return the pick."""
        ranked = ranked_trials(study)
        if not ranked:
            raise SearchFailedError(all_failed_message(study))
        count = self.finalists or setup.space.training.finalists
        if count <= 1 or len(setup.windows) == 1 or len(ranked) == 1:
            return [], ranked[0]
        chosen = ranked[:count]
        self._log(f"judging {len(chosen)} finalists on {len(setup.windows)} rolling-origin windows")
        results = []
        for trial in chosen:
            start = time.perf_counter()
            params = refit_params(setup.space, trial)
            errors = []
            for window in setup.windows[:-1]:
                forecaster = GRUForecaster(
                    **setup.base_params, **params, random_state=self._seed(setup, trial.number)
                )
                forecaster.fit(window.history)
                errors.append(window_error(forecaster, window, setup.metric))
                release_keras_memory()
            errors.append(float(trial.value))  # the latest window, as the trial scored it
            mean = float(np.mean(errors))
            results.append(
                FinalistScore(
                    trial.number,
                    float(trial.value),
                    mean,
                    mean,
                    tuple(errors),
                    time.perf_counter() - start,
                )
            )
            self._log(
                f"finalist trial {trial.number}: {setup.metric} per window "
                f"{', '.join(f'{e:.4f}' for e in errors)} (mean {mean:.4f})"
            )
        picked = pick(results, -1.0)
        record(study, results, picked, folds=len(setup.windows))
        return results, next(t for t in chosen if t.number == picked.trial)

    def refit_forecaster(
        self, setup: ForecastSearchSetup, trial: optuna.trial.FrozenTrial
    ) -> GRUForecaster:
        """``trial``'s configuration trained on the whole series for its best epoch count
        (or ``refit_epochs``)."""
        params = refit_params(setup.space, trial)
        if self.refit_models is not None:
            params["n_models"] = self.refit_models
        if self.refit_epochs is not None:
            params["epochs"] = self.refit_epochs
        forecaster = GRUForecaster(
            **setup.base_params, **params, random_state=self._seed(setup, trial.number)
        )
        return forecaster.fit(setup.series)

    # -- the whole search ----------------------------------------------------------------
    def fit(
        self, X: Any, y: None = None, *, extra_spec: dict[str, Any] | None = None
    ) -> GRUForecastSearch:
        """Run the search on the series ``X`` (a long table or a list of 1-D arrays).

        Parameters
        ----------
        X : DataFrame (long: id, time, target columns) or list of 1-D arrays
        y : None
            Unused; the targets are the series themselves.
        extra_spec : dict, optional
            Plain data stored in the study's spec beside the space (the command line
            records how it loaded the series, so that ``gru-search export`` can refit).

        Returns
        -------
        self
        """
        warn_if_gpu_unused()
        return self.search(self.prepare(X), extra_spec)

    def search(
        self, setup: ForecastSearchSetup, extra_spec: dict | None = None
    ) -> GRUForecastSearch:
        """:meth:`fit` after :meth:`prepare`: the study, its finalists and the refit (the
        command line prepares first, so that bad series fail before its run folder
        exists)."""
        with quiet_optuna(self.verbose):
            study = self.open_study(setup, extra_spec)
            n_trials = self.n_trials
            if n_trials is None and self.timeout is None:
                n_trials = DEFAULT_TRIALS
            self._log(
                f"searching {setup.space.name!r} on {len(setup.series)} series, horizon "
                f"{self.horizon}, {setup.metric} on the latest of {len(setup.windows)} "
                f"rolling-origin window(s)"
            )
            interrupted = False
            try:
                study.optimize(
                    self.trial_function(setup),
                    n_trials=n_trials,
                    timeout=self.timeout,
                    catch=(Exception,),  # one broken trial fails alone; the study goes on
                    callbacks=[self._trial_logger(setup.metric), StopWhenHopeless()],
                )
            except KeyboardInterrupt:
                interrupted = True
                self._log("interrupted: finishing with the trials done so far")
            self.conclude(study, setup, interrupted=interrupted)
        return self

    def conclude(
        self, study: optuna.Study, setup: ForecastSearchSetup, *, interrupted: bool = False
    ) -> GRUForecastSearch:
        """Finalists, refit and fitted attributes, from a study whose trials are done."""
        if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            raise SearchFailedError(all_failed_message(study))
        results, chosen = (
            ([], best_trial(study)) if interrupted else self.run_finalists(study, setup)
        )
        chosen = selected_trial(study) if results else chosen
        record_selection(
            study,
            chosen,
            setup.metric,
            results,
            folds=len(setup.windows),
            direction="minimize",
        )
        self.study_ = study
        self.space_ = setup.space
        self.windows_ = setup.windows
        self.best_trial_ = chosen
        self.best_params_ = refit_params(setup.space, chosen)
        self.best_score_ = float(chosen.value)
        self.metric_ = setup.metric
        self.n_trials_ = len(study.trials)
        self.interrupted_ = interrupted
        self.validation_forecast_ = self._validation_frame(setup, chosen.number)
        self.finalists_ = pd.DataFrame(
            [
                {
                    "trial": r.trial,
                    "study_value": r.study_value,
                    f"mean_{setup.metric}": r.score,
                    **{f"window_{i}": e for i, e in enumerate(r.fold_scores)},
                }
                for r in sorted(results, key=lambda r: r.score)
            ]
        )
        if self.refit:
            epochs = self.refit_epochs or self.best_params_["epochs"]
            networks = f" ({self.refit_models} networks)" if (self.refit_models or 1) > 1 else ""
            self._log(
                f"refitting trial {chosen.number} on all {len(setup.series)} series for "
                f"{epochs} epochs{networks}"
            )
            self.best_estimator_ = self.refit_forecaster(setup, chosen)
        return self

    def predict(self, X: Any = None, X_future: Any = None) -> pd.DataFrame:
        """The refit forecaster's forecasts (see :meth:`GRUForecaster.predict`)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X, X_future)

    def leaderboard(self) -> pd.DataFrame:
        """The trials, the refit trial first (as :func:`~gru_search.leaderboard.leaderboard`)."""
        check_is_fitted(self, "study_")
        return leaderboard(self.study_)

    # -- helpers -------------------------------------------------------------------------
    def _validation_frame(self, setup: ForecastSearchSetup, number: int) -> pd.DataFrame | None:
        forecasts = setup.forecasts.get(number)
        if forecasts is None:
            return None
        window, horizon = setup.windows[-1], int(self.horizon)
        ids = np.empty(len(window.history), dtype=object)
        ids[:] = window.history.ids
        times = [setup.series.times[i][-window.held_out :][:horizon] for i in range(len(ids))]
        return pd.DataFrame(
            {
                self.id_col: np.repeat(ids, horizon),
                self.time_col: np.concatenate(times),
                self.target_col: np.concatenate(window.actuals),
                "y_hat": np.concatenate(forecasts),
            }
        )

    def _seed(self, setup: ForecastSearchSetup, number: int) -> int | None:
        return None if setup.trial_seed is None else (setup.trial_seed + number) % MAX_SEED

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[gru-search] {message}", file=sys.stderr, flush=True)

    def _trial_logger(self, metric: str) -> Callable[[optuna.Study, Any], None]:
        def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            self._log(describe_finished_trial(study, trial, metric))

        return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "DEFAULT_TRIALS",
    "ForecastSearchSetup",
    "GRUForecastSearch",
    "WindowScorer",
    "window_error",
    "window_forecasts",
]
